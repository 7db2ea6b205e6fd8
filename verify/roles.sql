-- fails when any of the five roles of the prefix is missing
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
\set durable_worker :role_prefix '_worker'
\set durable_client :role_prefix '_client'
\set durable_observer :role_prefix '_observer'
\set durable_payload_reader :role_prefix '_payload_reader'
select 1 / (count(*) = 5)::int
  from pg_catalog.pg_roles
 where rolname in (:'durable_admin', :'durable_worker', :'durable_client', :'durable_observer',
                   :'durable_payload_reader');
