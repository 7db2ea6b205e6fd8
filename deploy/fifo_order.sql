-- fifo_order: workflows of equal priority and run time are claimed first in, first out.
--
-- The items of one enqueue_batch share their run_at (the statement's time), and the claim's
-- order (priority, run_at) left them in no set order. durable.workflows.seq is taken from a
-- sequence at insert (enqueue_batch takes it in the batch's order) and ends the claim's order;
-- the runnable index gets it as its last key, so the claim still reads the index in order.
-- Rows from before this change have no seq and come after those with one (they also have an
-- older run_at, which comes first). The index is rebuilt here: a short exclusive lock.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create sequence durable.workflow_seq as bigint;
comment on sequence durable.workflow_seq is 'The order workflows were enqueued in.';
alter table durable.workflows add column seq bigint;
alter table durable.workflows alter column seq set default pg_catalog.nextval('durable.workflow_seq');
comment on column durable.workflows.seq is
  'The order the workflow was enqueued in: the claim''s last sort key, after priority and run_at.';

drop index durable.workflows_runnable;
create index workflows_runnable on durable.workflows (queue, priority desc, run_at, seq)
  where status in ('pending', 'waiting');

commit;
