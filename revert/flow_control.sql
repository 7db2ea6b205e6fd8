-- flow_control reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop table durable.queue_starts;
drop table durable.run_slots;
alter table durable.settings drop column max_running;
alter table durable.workflows drop column concurrency_key, drop column dedup_key,
  drop column forked_from, drop column forked_at;
alter table durable.queues drop column rate_limit, drop column rate_period,
  drop column key_concurrency;

commit;
