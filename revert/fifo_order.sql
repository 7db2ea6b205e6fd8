-- fifo_order reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop index durable.workflows_runnable;
create index workflows_runnable on durable.workflows (queue, priority desc, run_at)
  where status in ('pending', 'waiting');
alter table durable.workflows drop column seq;
drop sequence durable.workflow_seq;

commit;
