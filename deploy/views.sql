-- views (v0.2.0): adds the payload-free views (*_meta) that the observer role reads.
--
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
set local role :"durable_admin";

-- v0.2.0: duration runs from the first claim (started_at), not from the enqueue, so a delay is
-- not counted; new columns at the end: started_at, version, lost_leases
create or replace view durable.runs as
select w.id, w.name, w.queue, w.status, w.priority, w.attempt, w.max_attempts,
       nullif(w.run_at, 'infinity') as run_at,
       w.owner, w.claims, w.input, w.output, w.error, w.created_at, w.claimed_at, w.finished_at,
       w.finished_at - w.started_at as duration, w.started_at, w.version, w.lost_leases, w.parent_id, w.deadline,
       case t.kind
         when 'sleep' then 'sleep until ' || t.deadline
         when 'message' then 'message on topic ' || t.topic
         when 'event' then 'event ' || t.topic || ' of workflow ' || t.target
         when 'children' then pg_catalog.format('children (%s of %s unfinished)',
           (select count(*) from durable.workflows c
             where c.parent_id = w.id and c.status in ('pending', 'running', 'waiting')
               and c.id = any (t.children)), cardinality(t.children))
       end || case when t.kind <> 'sleep' and t.deadline is not null
                   then ' until ' || t.deadline else '' end as waiting_for,
       t.created_at as waiting_since, w.concurrency_key, w.forked_from, w.forked_at,
       w.trace_context
  from durable.workflows w
  left join lateral (
    select t.kind, t.topic, t.target, t.children, t.deadline, t.created_at
      from durable.waits t
     where w.status = 'waiting' and t.workflow_id = w.id and t.resolved_at is null
     order by t.step_id desc
     limit 1) t on true;
comment on view durable.runs is
  'One row per workflow run: status, attempts, input, output or last error, timestamps '
  '(run_at: when a pending run may start, a waiting one wakes: null when it waits without a '
  'deadline; started_at: its first claim; duration: from then to '
  'finished_at), the code version it is pinned to, how many times its worker was lost, its '
  'parent (parent_id: it is a child workflow), its deadline, and, while it waits, what for '
  '(waiting_for: sleep until, message on topic, event of workflow, children; with the wait''s '
  'deadline) and since when (waiting_since); its concurrency key, and the workflow and step it '
  'was forked from (durable.fork); trace_context: the W3C traceparent it was enqueued with '
  '(its trace id finds the request''s trace and the worker''s spans).';

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
  from durable.errors e
union all
select t.workflow_id, t.created_at, 'wait', t.step_id, t.name, null, null,
       pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
         'kind', t.kind, 'topic', t.topic, 'target', t.target, 'children', t.children,
         'deadline', t.deadline)), false
  from durable.waits t
union all
select t.workflow_id, t.woken_at, 'woke', t.step_id, t.name, null, null, null, false
  from durable.waits t
 where t.woken_at is not null;
comment on view durable.timeline is
  'Steps, errors, waits (kind wait, at the time the run first reached it, detail: what it waits '
  'for) and wake-ups (kind woke: a send, set_event, child finish or cancel made it runnable) of '
  'every run as one list of events; order by at for one workflow''s story.';

create or replace view durable.run_waits as
select t.workflow_id, t.step_id, t.name, t.kind, t.topic, t.target, t.children, t.deadline,
       t.created_at, t.parked_at, t.woken_at, t.resolved_at, t.outcome
  from durable.waits t;
comment on view durable.run_waits is
  'Every wait runs reached: kind (sleep, message, event, children), topic (a message topic or '
  'event key), target (whose event), children, deadline (null: none), created_at (first '
  'reached), parked_at (last parked), woken_at (last woken), resolved_at and outcome (ready or '
  'timed_out) once its step is recorded.';

create or replace view durable.run_messages as
select m.id, m.workflow_id, m.topic, m.message, m.idempotency_key, m.sender, m.created_at,
       m.consumed_at, m.consumed_step
  from durable.messages m;
comment on view durable.run_messages is
  'Messages sent to workflows: consumed_step is the recv step that consumed it (null while '
  'unconsumed); sender is the sending workflow, null for clients.';

create or replace view durable.run_events as
select e.id, e.workflow_id, e.key, e.value, e.step_id, e.created_at
  from durable.events e;
comment on view durable.run_events is
  'Events workflows set (every value; the highest id per workflow and key is the current one).';

-- v0.2.0: pending counts only workflows runnable now; those whose run_at is still ahead are
-- counted apart (scheduled, next_scheduled), so a queue of delayed work does not look stuck.
-- Each queue's runs are counted through the partial indexes on unfinished rows
-- (workflows_runnable for pending and waiting, workflows_leased for running), never through
-- the finished history: a join on status in (pending, running, waiting) matches neither index
-- and scanned the whole table (0.9 s with 1,000,000 runs; bench/exporter_bench.py). The clock
-- is read once (offset 0 keeps the planner from calling durable.now() for every row).
create or replace view durable.queue_stats as
select q.name as queue, q.concurrency, q.paused,
       coalesce(u.pending, 0) as pending,
       coalesce(l.running, 0) as running,
       coalesce(u.waiting, 0) as waiting,
       u.oldest_pending,
       coalesce(u.scheduled, 0) as scheduled,
       u.next_scheduled,
       q.rate_limit, q.rate_period, q.key_concurrency,
       -- rate-limited and its window full: when enough of its starts have left the window for
       -- the rest to be under the limit (the newest that must leave, plus the period); each
       -- start slot holds its last start (slots above a lowered limit count while in the window)
       (select max(c.at) + q.rate_period
          from (select r.at, count(*) over (order by r.at desc
                                            rows between unbounded preceding and current row)
                       as total
                  from durable.queue_starts r
                 where r.queue = q.name and r.at > t.now - q.rate_period) c
         where c.total >= q.rate_limit) as next_start_at
  from durable.queues q
  cross join (select durable.now() as now offset 0) t
  left join lateral (
    select count(*) filter (where w.status = 'pending' and w.run_at <= t.now) as pending,
           count(*) filter (where w.status = 'waiting') as waiting,
           min(w.run_at) filter (where w.status = 'pending' and w.run_at <= t.now)
             as oldest_pending,
           count(*) filter (where w.status = 'pending' and w.run_at > t.now) as scheduled,
           min(w.run_at) filter (where w.status = 'pending' and w.run_at > t.now)
             as next_scheduled
      from durable.workflows w
     where w.queue = q.name and w.status in ('pending', 'waiting')) u on true
  left join lateral (
    select count(*) as running
      from durable.workflows w
     where w.queue = q.name and w.status = 'running') l on true;
comment on view durable.queue_stats is
  'Per queue: its settings; how many workflows are pending (runnable now, the oldest since '
  'oldest_pending), running and waiting; how many are scheduled for later (run_at ahead, '
  'the next at next_scheduled); its rate limit (rate_limit claims per rate_period; '
  'next_start_at: while the window is full, when the next claim may start) and per-key limit '
  '(key_concurrency).';

create or replace view durable.worker_status as
select k.id, k.started_at, k.heartbeat_at, k.lease_timeout, k.expires_at,
       k.expires_at >= durable.now() as alive,
       (select count(*) from durable.workflows w
         where w.owner = k.id and w.status = 'running') as running,
       k.busy, k.connections, k.concurrency_limit
  from durable.workers k;
comment on view durable.worker_status is
  'Workers, whether their heartbeat is fresh, how many workflows each holds (running) and how '
  'many runs its slots were executing at its last heartbeat (busy: a cancelled run still '
  'finishing a step counts there, not in running); its share of the database at its last '
  'heartbeat: the server connections it held (connections) and its adaptive limit on the '
  'workflows it holds at once (concurrency_limit, null without back-pressure).';


-- The same rows without payloads: inputs, outputs and errors may hold personal data, so the
-- observer role reads these; error_type (the "type" key of a recorded error, as the Python
-- client writes it) is kept.
create or replace view durable.runs_meta as
select w.id, w.name, w.queue, w.status, w.priority, w.attempt, w.max_attempts,
       nullif(w.run_at, 'infinity') as run_at,
       w.owner, w.claims, w.error ->> 'type' as error_type, w.created_at, w.claimed_at,
       w.finished_at, w.finished_at - w.started_at as duration, w.started_at, w.version,
       w.lost_leases, w.parent_id, w.deadline,
       case t.kind
         when 'sleep' then 'sleep until ' || t.deadline
         when 'message' then 'message on topic ' || t.topic
         when 'event' then 'event ' || t.topic || ' of workflow ' || t.target
         when 'children' then pg_catalog.format('children (%s of %s unfinished)',
           (select count(*) from durable.workflows c
             where c.parent_id = w.id and c.status in ('pending', 'running', 'waiting')
               and c.id = any (t.children)), cardinality(t.children))
       end || case when t.kind <> 'sleep' and t.deadline is not null
                   then ' until ' || t.deadline else '' end as waiting_for,
       t.created_at as waiting_since, w.concurrency_key, w.forked_from, w.forked_at,
       w.trace_context
  from durable.workflows w
  left join lateral (
    select t.kind, t.topic, t.target, t.children, t.deadline, t.created_at
      from durable.waits t
     where w.status = 'waiting' and t.workflow_id = w.id and t.resolved_at is null
     order by t.step_id desc
     limit 1) t on true;
comment on view durable.runs_meta is
  'durable.runs without input, output and error (error_type is kept): for the observer role.';

create or replace view durable.run_steps_meta as
select s.workflow_id, s.step_id, s.name, s.error is not null as is_error,
       s.error ->> 'type' as error_type, s.attempt, s.started_at, s.created_at as recorded_at,
       s.created_at - s.started_at as duration
  from durable.steps s;
comment on view durable.run_steps_meta is
  'durable.run_steps without output and error (is_error and error_type are kept): for the '
  'observer role.';

create or replace view durable.run_errors_meta as
select e.id, e.workflow_id, w.name as workflow_name, w.queue, e.step_id, e.name as step_name,
       e.attempt, e.error ->> 'type' as error_type, e.created_at
  from durable.errors e
  join durable.workflows w on w.id = e.workflow_id;
comment on view durable.run_errors_meta is
  'durable.run_errors without the error (error_type is kept): for the observer role.';

create or replace view durable.messages_meta as
select m.id, m.workflow_id, m.topic, m.sender, m.created_at, m.consumed_at, m.consumed_step
  from durable.messages m;
comment on view durable.messages_meta is
  'durable.run_messages without the message and its key: for the observer role.';

create or replace view durable.events_meta as
select e.id, e.workflow_id, e.key, e.step_id, e.created_at
  from durable.events e;
comment on view durable.events_meta is 'durable.run_events without values: for the observer role.';

create or replace view durable.timeline_meta as
select t.workflow_id, t.at, t.kind, t.step_id, t.name, t.attempt, t.duration, t.is_error,
       case when t.is_error then t.detail ->> 'type' end as error_type
  from durable.timeline t;
comment on view durable.timeline_meta is
  'durable.timeline without detail (error_type is kept for errors): for the observer role.';


-- dashboard (issue 13): failures per day, for the dashboard's errors chart. Counted through
-- the views, every failed run and failed step try of the month was read with its workflow's row
-- (1.8 s with 30,000 of each among 1,000,000 runs; bench/ui_bench.py); here both are index-only
-- counts: the failed runs of workflows_failed, the failed step tries of errors_step_created
-- (failed attempts, step_id null, are not in it; one more index entry per failed step try).
-- Counts only: no payload, so the observer may call it.
create index errors_step_created on durable.errors (created_at) where step_id is not null;
comment on index durable.errors_step_created is
  'Failed step tries by time: durable.failures_per_day, the README''s failed-steps query.';
create function durable.failures_per_day(p_days integer default 30)
returns table (day timestamptz, failed_runs bigint, failed_step_tries bigint)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_first timestamptz;
begin
  if p_days is null or p_days < 1 or p_days > 366 then
    raise exception 'days must be between 1 and 366, got %', coalesce(p_days::text, 'null')
      using errcode = 'DU011', hint = 'E.g. 30 for the last month.';
  end if;
  -- UTC days, today's included; 24 hours a day whatever the session's time zone
  v_first := pg_catalog.date_trunc('day', durable.now(), 'UTC') - (p_days - 1) * interval '24 hours';
  return query
  select d.day, coalesce(r.n, 0), coalesce(s.n, 0)
    from pg_catalog.generate_series(v_first, durable.now(), interval '24 hours') d(day)
    left join (select pg_catalog.date_bin(interval '24 hours', w.finished_at, v_first) as day,
                      count(*) as n
                 from durable.workflows w
                where w.status = 'failed' and w.finished_at >= v_first
                group by 1) r on r.day = d.day
    left join (select pg_catalog.date_bin(interval '24 hours', e.created_at, v_first) as day,
                      count(*) as n
                 from durable.errors e
                where e.step_id is not null and e.created_at >= v_first
                group by 1) s on s.day = d.day
   order by d.day;
end
$$;
comment on function durable.failures_per_day(integer) is
  'Failures per UTC day over the last p_days days (1..366, default 30; today''s included, '
  'oldest first, days without failures as 0): day (its midnight, UTC), failed_runs (workflows '
  'that failed that day, by finished_at: the README''s query of failed workflows) and '
  'failed_step_tries (durable.run_errors rows with a step, by created_at). Counts only, no '
  'payload: the observer may call it (the dashboard''s errors chart). Errors: DU011 (p_days '
  'null or out of range).';

commit;
