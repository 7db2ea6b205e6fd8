-- app_versions reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop table durable.worker_registrations;
drop table durable.workflow_types;
alter table durable.workflows
  drop constraint workflows_version_format,
  drop column version;
alter table durable.workers
  drop constraint workers_version_format,
  drop column version,
  drop column workflow_names;

commit;
