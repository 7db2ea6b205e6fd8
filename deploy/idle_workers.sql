-- idle_workers: wake-ups only when a worker waits for them; and what a worker's slots run.
--
-- Every notifying commit takes one lock for the whole server (PostgreSQL's async-notify
-- queue), so single enqueues that each sent NOTIFY could not commit in parallel (16 clients:
-- 320 enqueues/s with the wake-up, 1,243/s without; bench/enqueue_bench.sh). A worker that is
-- busy does not need one: it claims again as soon as a slot frees. So a claim that finds
-- nothing records the queues it asked for in durable.workers.idle_queues, a claim that finds
-- work clears it, and the notify triggers (deploy/notify.sql) send NOTIFY only for a queue some
-- live worker is idle on. Workers also poll, so a wake-up missed in the instant between a
-- worker's empty claim and its mark delays work by at most one poll interval.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.workers add column idle_queues text[];
comment on column durable.workers.idle_queues is
  'The queues of the worker''s last claim when it found nothing (it then waits for a NOTIFY or '
  'its next poll); null once a claim of its finds work.';
-- what its slots still run, as its heartbeat reports it: a run cancelled (or whose lease was
-- lost) is no longer the worker's in durable.workflows, but its step may still be running
alter table durable.workers add column busy integer,
  add constraint workers_busy check (busy >= 0);
comment on column durable.workers.busy is
  'How many runs the worker''s slots were executing at its last heartbeat (durable.heartbeat''s '
  'p_busy), cancelled ones still finishing a step included; null when it does not say.';
-- its share of the database (issue 16), as its heartbeat reports it: the server connections it
-- holds, and the adaptive limit on the workflows it holds at once (back-pressure)
alter table durable.workers add column connections integer,
  add constraint workers_connections check (connections >= 0),
  add column concurrency_limit integer,
  add constraint workers_concurrency_limit check (concurrency_limit >= 0);
comment on column durable.workers.connections is
  'How many server connections the worker held at its last heartbeat (durable.heartbeat''s '
  'p_connections); null when it does not say.';
comment on column durable.workers.concurrency_limit is
  'The adaptive limit on the workflows the worker holds at once at its last heartbeat '
  '(durable.heartbeat''s p_concurrency_limit, back-pressure on); null when it has none.';

commit;
