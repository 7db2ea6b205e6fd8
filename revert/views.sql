-- views: observability is SQL. These are what people, dashboards and the CLI read; the
-- durable_observer role (and the worker and client roles) may select from them, never from the
-- tables. For example, every workflow that failed in the last month:
--   select * from durable.runs where status = 'failed' and finished_at > now() - interval '1 month';
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;

drop view durable.runs_meta, durable.run_steps_meta, durable.run_errors_meta,
  durable.timeline_meta, durable.run_waits, durable.run_messages, durable.run_events,
  durable.messages_meta, durable.events_meta;
set local role :"durable_admin";

-- v0.2.0 added columns to runs: drop it (runs_meta is dropped above) and recreate it with its
-- v0.1.0 grants
drop view durable.runs;
create view durable.runs as
select w.id, w.name, w.queue, w.status, w.priority, w.attempt, w.max_attempts, w.run_at,
       w.owner, w.claims, w.input, w.output, w.error, w.created_at, w.claimed_at, w.finished_at,
       w.finished_at - w.created_at as duration
  from durable.workflows w;
comment on view durable.runs is
  'One row per workflow run: status, attempts, input, output or last error, timestamps.';
grant select on durable.runs to durable_observer, durable_worker, durable_client;

create or replace view durable.run_steps as
select s.workflow_id, s.step_id, s.name, s.output, s.error, s.attempt, s.started_at,
       s.created_at as recorded_at, s.created_at - s.started_at as duration
  from durable.steps s;
comment on view durable.run_steps is
  'The recorded steps of every run (recorded_at is when the checkpoint was written; duration '
  'is known when the worker passed the step''s start time).';

create or replace view durable.run_errors as
select e.id, e.workflow_id, w.name as workflow_name, w.queue, e.step_id, e.name as step_name,
       e.attempt, e.error, e.created_at
  from durable.errors e
  join durable.workflows w on w.id = e.workflow_id;
comment on view durable.run_errors is
  'Every error: failed step tries (step_id set) and failed workflow attempts (step_id null). '
  'Failed steps in the last month: select * from durable.run_errors where step_id is not null '
  'and created_at > now() - interval ''1 month''.';

create or replace view durable.timeline as
select s.workflow_id, s.created_at as at, 'step' as kind, s.step_id, s.name, s.attempt,
       s.created_at - s.started_at as duration, coalesce(s.error, s.output) as detail,
       s.error is not null as is_error
  from durable.steps s
union all
select e.workflow_id, e.created_at, case when e.step_id is null then 'attempt failed'
                                         else 'step try failed' end,
       e.step_id, e.name, e.attempt, null, e.error, true
  from durable.errors e;
comment on view durable.timeline is
  'Steps and errors of every run as one list of events; order by at for one workflow''s story.';

-- v0.2.0 added columns to queue_stats, which create or replace cannot drop: drop it, recreate it
-- and give back the v0.1.0 grants (privileges has been reverted to v0.1.0 before this runs)
drop view durable.queue_stats;
create view durable.queue_stats as
select q.name as queue, q.concurrency, q.paused,
       count(w.id) filter (where w.status = 'pending') as pending,
       count(w.id) filter (where w.status = 'running') as running,
       count(w.id) filter (where w.status = 'waiting') as waiting,
       min(w.run_at) filter (where w.status = 'pending') as oldest_pending
  from durable.queues q
  left join durable.workflows w
    on w.queue = q.name and w.status in ('pending', 'running', 'waiting')
 group by q.name, q.concurrency, q.paused;
comment on view durable.queue_stats is
  'Per queue: its settings and how many workflows are pending, running and waiting.';
grant select on durable.queue_stats to durable_observer, durable_worker, durable_client;

-- v0.2.0 added busy to worker_status: drop it, recreate it with its v0.1.0 grants
drop view durable.worker_status;
create view durable.worker_status as
select k.id, k.started_at, k.heartbeat_at, k.lease_timeout, k.expires_at,
       k.expires_at >= durable.now() as alive,
       (select count(*) from durable.workflows w
         where w.owner = k.id and w.status = 'running') as running
  from durable.workers k;
comment on view durable.worker_status is
  'Workers, whether their heartbeat is fresh, and how many workflows each holds.';
grant select on durable.worker_status to durable_observer, durable_worker, durable_client;

-- dashboard (issue 13)
drop function if exists durable.failures_per_day(integer);
drop index if exists durable.errors_step_created;

commit;
