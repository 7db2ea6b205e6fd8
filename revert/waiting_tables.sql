-- waiting_tables reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop table durable.events;
drop table durable.messages;
drop table durable.waits;
alter table durable.workflow_types drop column timeout;
alter table durable.workflows drop column parent_id, drop column detached,
  drop column deadline, drop column watched;

commit;
