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
-- the planner cannot lock more rows than the limit).
begin;
set local role durable_admin;

create function durable.recorded_steps(p_workflow_id text)
returns jsonb
language plpgsql
stable
set search_path = ''
-- planned for each call: a plan cached while durable.steps was still empty (a worker started on
-- a new database) would scan the whole table on every claim once it has grown
set plan_cache_mode = force_custom_plan
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

create function durable.lock_queues(p_queues text[])
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- only queues with a limit: locking the others would serialise every claim on them
  perform 1 from durable.queues q
   where q.name = any (p_queues) and q.concurrency is not null
   order by q.name
     for no key update;
end
$$;
comment on function durable.lock_queues(text[]) is
  'Locks the rows of the queues in p_queues that have a concurrency limit, in name order, for '
  'the rest of the transaction: a claim counts their free slots under that lock. Internal.';

create function durable.check_claim(p_queues text[], p_max integer, p_least integer)
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

create function durable.claim_for(
  p_worker text, p_queues text[], p_max integer, p_now timestamptz
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
  v_left integer := p_max;
  v_limit integer;
  v_got integer;
  v_queue record;
  v_dead text[];
begin
  -- the caller has checked the arguments, registered the worker (durable.touch_worker) and
  -- locked the limited queues (durable.lock_queues)
  -- workers whose heartbeat expired: usually none, and then step 1 below is skipped
  v_dead := array(select k.id from durable.workers k where k.expires_at < p_now);

  for v_queue in
    select u.name as asked, q.name, q.concurrency, q.paused
      from unnest(p_queues) with ordinality as u(name, ord)
      left join durable.queues q on q.name = u.name
     order by u.ord
  loop
    if v_queue.name is null then
      raise exception 'unknown queue %', coalesce(v_queue.asked, 'null')
        using errcode = 'DU004', hint = 'Create it first with select durable.set_queue(...).';
    end if;
    continue when v_queue.paused or v_left = 0;

    -- 1. reclaim the workflows of workers whose heartbeat expired
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
             claimed_at = p_now
        from picked p
       where w.id = p.id
      returning w.id, w.name, w.queue, w.input, w.lease, w.attempt, w.max_attempts,
                durable.recorded_steps(w.id);
      get diagnostics v_got = row_count;
      v_left := v_left - v_got;
      continue when v_left = 0;
    end if;

    -- 2. take runnable workflows, within the queue's concurrency limit
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
         and w.run_at <= p_now
       order by w.priority desc, w.run_at
       limit v_limit
         for update skip locked
    )
    update durable.workflows w
       set status = 'running', owner = p_worker, lease = nextval('durable.lease_seq'),
           claims = w.claims + 1, claimed_at = p_now
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
comment on function durable.claim_for(text, text[], integer, timestamptz) is
  'The claim itself, for durable.claim and durable.complete_and_claim: up to p_max workflows of '
  'p_queues for worker p_worker (reclaimed ones first, then runnable ones). Raises DU004 for an '
  'unknown queue. Internal.';

create function durable.claim(
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
set plan_cache_mode = force_generic_plan
as $$
declare
  v_now timestamptz := durable.now();
begin
  if p_max is null or p_max < 1 or p_max > 1000 or p_queues is null
     or cardinality(p_queues) = 0 then
    perform durable.check_claim(p_queues, p_max, 1);  -- raises the error that applies
  end if;
  perform durable.touch_worker(p_worker, p_lease_timeout, v_now, false);
  perform durable.lock_queues(p_queues);
  return query select * from durable.claim_for(p_worker, p_queues, p_max, v_now);
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

commit;
