-- roles (v0.2.0): the cluster roles durable's privileges are granted to, named after the psql
-- (Sqitch) variable role_prefix, default `durable`:
--
--   <prefix>_admin           owns schema durable and everything in it
--   <prefix>_worker          claims, checkpoints, finishes, heartbeats; reads the views
--   <prefix>_client          enqueues, reads results, cancels, retries; reads the views
--   <prefix>_observer        reads the views without payloads (durable.*_meta, queue_stats,
--                            worker_status): no inputs, outputs or errors
--   <prefix>_payload_reader  reads every view, payloads included
--
-- Roles are cluster-wide: two databases of one server that must not reach each other's
-- workflows are deployed with different prefixes (`sqitch deploy --set role_prefix=billing`,
-- `psql -v role_prefix=billing -f sql/durable.sql`). Each role is created only when missing,
-- and none can log in: grant them to your own login roles (`grant durable_worker to app_worker`).
-- The deploying role is made a member of <prefix>_admin (with SET on PostgreSQL 16 and later,
-- which no longer lets a role's creator SET ROLE to it by default).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
\set durable_worker :role_prefix '_worker'
\set durable_client :role_prefix '_client'
\set durable_observer :role_prefix '_observer'
\set durable_payload_reader :role_prefix '_payload_reader'
begin;
select pg_catalog.set_config('durable.role_prefix', :'role_prefix', true) \g /dev/null

do $$
declare
  v_prefix text := pg_catalog.current_setting('durable.role_prefix');
  v_suffix text;
  v_admin text := v_prefix || '_admin';
begin
  if v_prefix !~ '^[a-z][a-z0-9_]{0,40}$' then
    raise exception 'role_prefix % is not a lowercase identifier of at most 41 characters', v_prefix
      using errcode = 'DU011',
            hint = 'Pass e.g. --set role_prefix=billing to sqitch (or -v role_prefix=billing to psql).';
  end if;
  foreach v_suffix in array array['admin', 'worker', 'client', 'observer', 'payload_reader'] loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = v_prefix || '_' || v_suffix) then
      execute pg_catalog.format('create role %I nologin', v_prefix || '_' || v_suffix);
    end if;
  end loop;
  if pg_catalog.current_setting('server_version_num')::integer >= 160000 then
    if not pg_catalog.pg_has_role(current_user, v_admin, 'set') then
      execute pg_catalog.format('grant %I to %I with set true, inherit true', v_admin, current_user);
    end if;
  elsif not pg_catalog.pg_has_role(current_user, v_admin, 'member') then
    execute pg_catalog.format('grant %I to %I', v_admin, current_user);
  end if;
end
$$;

commit;
