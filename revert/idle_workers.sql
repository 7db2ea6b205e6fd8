-- idle_workers reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.workers drop column concurrency_limit, drop column connections,
  drop column busy, drop column idle_queues;

commit;
