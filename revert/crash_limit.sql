-- crash_limit reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.workflows
  drop constraint workflows_max_lost_leases,
  drop constraint workflows_lost_leases,
  drop column max_lost_leases,
  drop column lost_leases;
alter table durable.settings
  drop constraint settings_max_lost_leases_range,
  drop column max_lost_leases;

commit;
