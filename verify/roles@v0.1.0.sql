-- fails when any of the four roles is missing
select 1 / (count(*) = 4)::int
  from pg_catalog.pg_roles
 where rolname in ('durable_admin', 'durable_worker', 'durable_client', 'durable_observer');
