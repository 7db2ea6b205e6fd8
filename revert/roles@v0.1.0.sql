-- roles are cluster-wide and may serve other databases on this server: reverting this change
-- leaves them in place. Drop them by hand once no database uses durable:
--   drop role durable_observer, durable_client, durable_worker, durable_admin;
begin;
select 1;
commit;
