-- claim: hand runnable workflows to a worker, each with a new fencing token and the recorded
-- outputs of its steps, so that resuming needs no other round trip.
--
-- Queues are served in the order given. In each queue, first the workflows whose worker's
-- heartbeat has expired are reclaimed (recovery needs no other process), then pending
-- workflows and waiting ones whose wake time has passed are taken by priority (highest first)
-- and then run_at. A paused queue is skipped; a queue with a concurrency limit hands out no more
-- than the limit minus the workflows running in it.
--
-- Lock order: the worker's own row (register or refresh), then the rows of the queues asked for
-- that have a concurrency limit, in name order (for no key update, so that two claims cannot
-- both see a free slot), then workflow rows (for update skip locked, in a materialized CTE so
-- the planner cannot lock more rows than the limit). (durable.take_work, the body shared with
-- complete and complete_and_claim, completes the finished workflow after the queues and before
-- the claim: see finish.sql.)
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop function durable.pick_by_key(text, integer, integer, text[], text, timestamptz);
-- the run slots (flow_control.sql's table goes with that change's revert)
drop trigger settings_max_running on durable.settings;
drop function durable.settings_max_running();
drop trigger workflows_key_slots on durable.workflows;
drop function durable.workflows_key_slots();
drop function durable.prepare_slots(text, text, integer);
drop function durable.take_slots(text, text, integer, integer);
-- the v0.2.0 result type (trace_context) goes; the v0.1.0 one comes back below
drop function durable.claim(text, text[], integer, interval);
drop function durable.take_work(text, text[], integer, interval, boolean, text, bigint, jsonb, integer, text, jsonb, timestamptz);

create or replace function durable.recorded_steps(p_workflow_id text)
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
begin
  return (select coalesce(jsonb_agg(jsonb_build_object('step_id', s.step_id, 'name', s.name,
                                                       'output', s.output, 'error', s.error)
                                    order by s.step_id), '[]')
            from durable.steps s
           where s.workflow_id = p_workflow_id);
end
$$;
comment on function durable.recorded_steps(text) is
  'The recorded steps of a workflow as claim returns them, in order: '
  '[{step_id, name, output, error}]. Internal.';

create or replace function durable.check_claim(p_queues text[], p_max integer, p_least integer)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_max is null or p_max < p_least or p_max > 1000 then
    raise exception 'max must be between % and 1000, got %', p_least, coalesce(p_max::text, 'null')
      using errcode = 'DU011';
  end if;
  if p_max > 0 and (p_queues is null or cardinality(p_queues) = 0) then
    raise exception 'queues must name at least one queue'
      using errcode = 'DU010', hint = 'Pass array[''default''] for the default queue.';
  end if;
end
$$;
comment on function durable.check_claim(text[], integer, integer) is
  'Raises DU011 unless p_least <= p_max <= 1000, DU010 when p_max > 0 and p_queues is empty. '
  'Internal.';

create or replace function durable.take_work(
  p_worker text,
  p_queues text[],
  p_max integer,
  p_lease_timeout interval,
  p_complete boolean default false,
  p_workflow_id text default null,
  p_lease bigint default null,
  p_output jsonb default null,
  p_step_id integer default null,
  p_step_name text default null,
  p_step_output jsonb default null,
  p_step_started_at timestamptz default null
)
returns table (
  workflow_id text,
  name text,
  queue text,
  input jsonb,
  lease bigint,
  attempt integer,
  max_attempts integer,
  steps jsonb
)
language plpgsql
set search_path = ''
as $$
declare
  -- durable.now() without a call while the clock is not pinned
  v_now timestamptz := case when pg_catalog.current_setting('durable.fake_now', true) <> ''
                            then durable.now() else pg_catalog.statement_timestamp() end;
  v_timeout interval;
  v_heartbeat timestamptz;
  v_current interval;
  v_dead text[];
  v_limited boolean;
  v_left integer := p_max;
  v_limit integer;
  v_got integer;
  v_queue record;
begin
  -- The body of durable.claim and durable.complete_and_claim, which have checked p_queues and
  -- p_max. One function with few statements, since it runs once per workflow.
  if p_max > 0 then
    -- 1. the worker (lock order: first). Its shared lock, then in a statement of its own (whose
    -- snapshot sees a deletion that committed while we waited): the default lease timeout, its
    -- row, the workers whose heartbeat expired (usually none), whether a queue has a limit.
    -- The row is written (durable.touch_worker, which also checks the id and the timeout) only
    -- to register the worker or when its heartbeat is a tenth of its lease timeout old.
    perform pg_catalog.pg_advisory_xact_lock_shared(durable.worker_lock_key(p_worker));
    select coalesce(p_lease_timeout, s.default_lease_timeout), k.heartbeat_at, k.lease_timeout,
           array(select d.id from durable.workers d
                  where d.expires_at < v_now and d.id <> p_worker),  -- (it is back)
           exists (select 1 from durable.queues q
                    where q.name = any (p_queues) and q.concurrency is not null)
      into v_timeout, v_heartbeat, v_current, v_dead, v_limited
      from durable.settings s
      left join durable.workers k on k.id = p_worker;
    if v_heartbeat is null or v_heartbeat < v_now - v_timeout / 10
       or v_current is distinct from v_timeout then
      perform durable.touch_worker(p_worker, p_lease_timeout, v_now, false);
    end if;
    -- 2. the limited queues' rows, in name order: the free slots are counted under that lock
    if v_limited then
      perform 1 from durable.queues q
       where q.name = any (p_queues) and q.concurrency is not null
       order by q.name
         for no key update;
    end if;
  end if;

  -- 3. the workflow the worker finished (complete, complete_and_claim), with its last step
  if p_complete then
    if p_step_id is not null then
      -- fenced like durable.checkpoint (DU001, DU002, DU003, DU005, DU010); a step already
      -- recorded under that name is kept as it is
      perform durable.record_step(p_workflow_id, p_lease, p_step_id, p_step_name,
                                  p_step_output, null, p_step_started_at, v_now);
    end if;
    update durable.workflows w
       set status = 'succeeded', output = coalesce(p_output, 'null'), error = null,
           owner = null, lease = null, finished_at = v_now
     where w.id = p_workflow_id and w.lease = p_lease and w.status = 'running';
    if not found then
      -- raises DU010, DU003, DU002 or DU001, whichever applies
      perform durable.fence(p_workflow_id, p_lease);
      raise exception 'lease % on workflow % is lost', p_lease, p_workflow_id
        using errcode = 'DU001';
    end if;
  end if;

  -- 4. the claim, queue by queue in the order given
  for v_queue in
    select u.name as asked, q.name, q.concurrency, q.paused
      from unnest(p_queues) with ordinality as u(name, ord)
      left join durable.queues q on q.name = u.name
     where p_max > 0
     order by u.ord
  loop
    if v_queue.name is null then
      raise exception 'unknown queue %', coalesce(v_queue.asked, 'null')
        using errcode = 'DU004', hint = 'Create it first with select durable.set_queue(...).';
    end if;
    continue when v_queue.paused or v_left = 0;

    -- 4a. reclaim the workflows of workers whose heartbeat expired
    if cardinality(v_dead) > 0 then
      return query
      with picked as materialized (
        select w.id
          from durable.workflows w
         where w.queue = v_queue.name
           and w.status = 'running'
           and w.owner = any (v_dead)
         limit v_left
           for update of w skip locked
      )
      update durable.workflows w
         set owner = p_worker, lease = nextval('durable.lease_seq'), claims = w.claims + 1,
             claimed_at = v_now
        from picked p
       where w.id = p.id
      returning w.id, w.name, w.queue, w.input, w.lease, w.attempt, w.max_attempts,
                durable.recorded_steps(w.id);
      get diagnostics v_got = row_count;
      v_left := v_left - v_got;
      continue when v_left = 0;
    end if;

    -- 4b. take runnable workflows, within the queue's concurrency limit
    v_limit := v_left;
    if v_queue.concurrency is not null then
      v_limit := least(v_limit, v_queue.concurrency - (
        select count(*) from durable.workflows w
         where w.queue = v_queue.name and w.status = 'running')::integer);
      continue when v_limit <= 0;
    end if;
    return query
    with picked as materialized (
      select w.id
        from durable.workflows w
       where w.queue = v_queue.name
         and w.status in ('pending', 'waiting')
         and w.run_at <= v_now
       order by w.priority desc, w.run_at
       limit v_limit
         for update skip locked
    )
    update durable.workflows w
       set status = 'running', owner = p_worker, lease = nextval('durable.lease_seq'),
           claims = w.claims + 1, claimed_at = v_now
      from picked p
     where w.id = p.id
    -- a workflow claimed for the first time has recorded nothing (steps need a lease)
    returning w.id, w.name, w.queue, w.input, w.lease, w.attempt, w.max_attempts,
              case when w.claims = 1 then '[]'::jsonb else durable.recorded_steps(w.id) end;
    get diagnostics v_got = row_count;
    v_left := v_left - v_got;
  end loop;
end
$$;
comment on function durable.take_work(text, text[], integer, interval, boolean, text, bigint, jsonb, integer, text, jsonb, timestamptz) is
  'The body of durable.claim, durable.complete and durable.complete_and_claim: registers or '
  'refreshes worker p_worker and locks the limited queues of p_queues (when p_max > 0), '
  'completes workflow p_workflow_id with p_output under p_lease when p_complete (recording its '
  'last step first when p_step_id is given), then claims up to p_max workflows of p_queues for '
  'the worker, reclaimed ones first. Reads the clock itself (durable.now()). Raises DU001, '
  'DU002, DU003, DU005 or DU010 for the workflow to complete, DU004 for an unknown queue, DU010 '
  'or DU011 for a bad worker id or lease timeout, DU009 as durable.now() does. Internal.';

create or replace function durable.claim(
  p_worker text,
  p_queues text[] default array['default'],
  p_max integer default 1,
  p_lease_timeout interval default null
)
returns table (
  workflow_id text,
  name text,
  queue text,
  input jsonb,
  lease bigint,
  attempt integer,
  max_attempts integer,
  steps jsonb
)
language plpgsql
security definer
set search_path = ''
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
set plan_cache_mode = force_generic_plan
as $$
begin
  if p_max is null or p_max < 1 or p_max > 1000 or p_queues is null
     or cardinality(p_queues) = 0 then
    perform durable.check_claim(p_queues, p_max, 1);  -- raises the error that applies
  end if;
  return query select * from durable.take_work(p_worker, p_queues, p_max, p_lease_timeout);
end
$$;
comment on function durable.claim(text, text[], integer, interval) is
  'Gives worker p_worker up to p_max runnable workflows from p_queues (served in that order): '
  'first those of workers whose heartbeat expired, then pending (and woken waiting) ones by '
  'priority, then run_at. Each comes with a new fencing token (lease), its attempt, and steps: '
  'a JSON array of its recorded checkpoints [{step_id, name, output, error}] to replay. '
  'Claiming registers the worker and keeps its heartbeat fresh. p_lease_timeout defaults to '
  'durable.settings.default_lease_timeout. Skips rows other claims hold (SKIP LOCKED), paused '
  'queues, and queues at their concurrency limit. Errors: DU004 unknown queue, DU010, DU011.';

-- (revert/privileges.sql, which ran before this, granted the function this dropped)
grant execute on function durable.claim(text, text[], integer, interval) to durable_worker;

commit;
