-- schema (v0.2.0): the schema and everything in it belong to <role_prefix>_admin.
--
-- The v0.1.0 changes create everything as durable_admin. When this database is deployed with
-- another role_prefix, ownership of the schema and of every table, view, sequence and function
-- in it moves to <prefix>_admin here, so that the default roles (which other databases of the
-- cluster may use) own nothing in this one. With the default prefix nothing changes.
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
select pg_catalog.set_config('durable.admin_role', :'durable_admin', true) \g /dev/null

do $$
declare
  v_admin text := pg_catalog.current_setting('durable.admin_role');
  v_object record;
begin
  if (select n.nspowner::regrole::text from pg_catalog.pg_namespace n where n.nspname = 'durable')
     = pg_catalog.quote_ident(v_admin) then
    return;
  end if;
  execute pg_catalog.format('alter schema durable owner to %I', v_admin);
  for v_object in
    select pg_catalog.format('alter %s %s owner to %I',
             case c.relkind when 'v' then 'view' when 'S' then 'sequence' else 'table' end,
             c.oid::regclass, v_admin) as stmt
      from pg_catalog.pg_class c
     where c.relnamespace = 'durable'::regnamespace and c.relkind in ('r', 'p', 'v', 'S')
       -- sequences of identity columns move with their table
       and not exists (select 1 from pg_catalog.pg_depend d
                        where d.objid = c.oid and d.deptype in ('a', 'i')
                          and d.classid = 'pg_catalog.pg_class'::regclass
                          and d.refclassid = 'pg_catalog.pg_class'::regclass)
    union all
    select pg_catalog.format('alter function %s owner to %I', p.oid::regprocedure, v_admin)
      from pg_catalog.pg_proc p
     where p.pronamespace = 'durable'::regnamespace
  loop
    execute v_object.stmt;
  end loop;
end
$$;

commit;
