-- roles: the four cluster roles durable's privileges are granted to.
--
--   durable_admin     owns schema durable and everything in it
--   durable_worker    claims, checkpoints, finishes, heartbeats
--   durable_client    enqueues, reads results, cancels, retries
--   durable_observer  reads the views
--
-- Roles are cluster-wide and may already exist (another database on the same server deployed
-- durable too), so each is created only when missing. None can log in: grant them to your own
-- login roles (`grant durable_worker to app_worker`).
begin;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['durable_admin', 'durable_worker', 'durable_client', 'durable_observer'] loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = v_role) then
      execute pg_catalog.format('create role %I nologin', v_role);
    end if;
  end loop;
end
$$;

-- The deploying role must be able to create objects as durable_admin (set role).
do $$
begin
  if not pg_catalog.pg_has_role(current_user, 'durable_admin', 'member') then
    execute pg_catalog.format('grant durable_admin to %I', current_user);
  end if;
end
$$;

commit;
