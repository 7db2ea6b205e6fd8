-- claim: hand runnable workflows to a worker, each with a new fencing token and the recorded
-- outputs of its steps, so that resuming needs no other round trip.
--
-- Queues are served in the order given. In each queue, first the workflows whose worker's
-- heartbeat has expired are reclaimed (recovery needs no other process), then pending
-- workflows and waiting ones whose wake time has passed are taken by priority (highest first)
-- and then run_at. A paused queue is skipped; a queue with a concurrency limit (or per-key limit,
-- or durable.settings.max_running) hands out no more than its free run slots (take_slots).
--
-- The worker id must be the calling login's (DU015), and the lease timeout at most
-- durable.settings.max_lease_timeout (DU011): see workers.sql.
--
-- Lock order: the worker's own row (register or refresh), then workflow rows (for update skip
-- locked, in a materialized CTE so the planner cannot lock more rows than the limit). (No row of
-- durable.queues is locked: the run slots of concurrency limits and the start slots of rate
-- limits are rows of their own, durable.run_slots and durable.queue_starts, taken for update
-- skip locked with their advisory locks only tried, so a claim never waits for another claim or
-- for set_queue.) (durable.take_work, the body shared with complete and complete_and_claim,
-- completes the finished workflow before the claim, taking first the family lock of its parent
-- when it is a child: see finish.sql and waiting.sql.) A workflow whose deadline passed is not
-- claimed: the claim (or a heartbeat) cancels it first, with its children.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

-- v0.2.0: the claim's rows end with the run's trace_context (trace_context.sql), a new result
-- type: the v0.1.0 functions go (privileges.sql grants the new claim)
drop function durable.claim(text, text[], integer, interval);
drop function durable.take_work(text, text[], integer, interval, boolean, text, bigint, jsonb, integer, text, jsonb, timestamptz);

create or replace function durable.recorded_steps(p_workflow_id text)
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
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
set search_path = pg_catalog, pg_temp
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

create or replace function durable.pick_by_key(
  p_queue text, p_per_key integer, p_limit integer, p_names text[], p_version text,
  p_now timestamptz
)
returns text[]
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_keys text[];
  v_counts integer[];
  v_full text[];
  v_ids text[] := '{}';
  v_row record;
  v_at integer;
  v_seen integer;
  v_skipped text[] := '{}';
begin
  -- the counts of running workflows per key are this snapshot's: other claims of the queue run
  -- at the same time, and the key's run slots (durable.take_slots, after this) decide. The walk
  -- reads without locks and locks only the rows it takes, one by one (skip locked: one another
  -- claim holds is passed over, so two claims walking the same rows take different ones).
  -- (Walking with a locking cursor locked every row it read, rows of full keys included.)
  select coalesce(array_agg(c.key), '{}'), coalesce(array_agg(c.n), '{}'),
         coalesce(array_agg(c.key) filter (where c.n >= p_per_key), '{}')
    into v_keys, v_counts, v_full
    from (select w.concurrency_key as key, count(*)::integer as n
            from durable.workflows w
           where w.queue = p_queue and w.status = 'running'
             and w.concurrency_key is not null
           group by w.concurrency_key) c;
  -- in batches with a limit (a loop over the query without one was planned as a sort of every
  -- runnable row of the queue): a batch that skipped rows of keys it filled is followed by
  -- another, without those keys and the rows taken
  loop
    v_seen := 0;
    for v_row in
      select w.id, w.concurrency_key as key
        from durable.workflows w
       where w.queue = p_queue
         and w.status in ('pending', 'waiting')
         and w.run_at <= p_now
         and (p_names is null or w.name = any (p_names))
         and (w.version is null or w.version = p_version)
         and (w.deadline is null or w.deadline > p_now)
         and (w.concurrency_key is null or w.concurrency_key <> all (v_full))
         and w.id <> all (v_ids)
         and w.id <> all (v_skipped)
       order by w.priority desc, w.run_at, w.seq
       limit p_limit + 16
    loop
      v_seen := v_seen + 1;
      continue when v_row.key = any (v_full);
      perform 1 from durable.workflows k
       where k.id = v_row.id and k.status in ('pending', 'waiting') and k.run_at <= p_now
         for update skip locked;
      if not found then
        v_skipped := v_skipped || v_row.id;
        continue;
      end if;
      if v_row.key is not null then
        v_at := array_position(v_keys, v_row.key);
        if v_at is null then
          v_keys := v_keys || v_row.key;
          v_counts := v_counts || 0;
          v_at := cardinality(v_keys);
        end if;
        v_counts[v_at] := v_counts[v_at] + 1;
        if v_counts[v_at] >= p_per_key then
          v_full := v_full || v_row.key;
        end if;
      end if;
      v_ids := v_ids || v_row.id;
      exit when cardinality(v_ids) >= p_limit;
    end loop;
    exit when cardinality(v_ids) >= p_limit or v_seen < p_limit + 16;
  end loop;
  return v_ids;
end
$$;
comment on function durable.pick_by_key(text, integer, integer, text[], text, timestamptz) is
  'The ids of up to p_limit runnable workflows of queue p_queue in the claim''s order, skipping '
  'those whose concurrency key already has p_per_key running (or taken here): a key at its '
  'limit does not hold back the others. Locks the rows it returns (for update skip locked, one '
  'by one: rows other claims hold are passed over); the caller takes their keys'' run slots. '
  'Internal.';

create or replace function durable.take_slots(
  p_queue text, p_key text, p_limit integer, p_want integer
)
returns integer[]
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_slots integer[];
  v_lock bigint := pg_catalog.hashtextextended(
    'durable.run_slots:' || p_queue || chr(31) || p_key, 0);
begin
  if p_want <= 0 then
    return '{}';
  end if;
  -- the free slots (no run under the lease they name) that no other claim holds
  v_slots := array(select s.slot from durable.run_slots s
                    where s.queue = p_queue and s.key = p_key and s.slot <= p_limit
                      and not exists (select 1 from durable.workflows w
                                       where w.id = s.workflow_id and w.lease = s.lease
                                         and w.status = 'running')
                    order by s.slot
                    limit p_want
                      for update skip locked);
  if cardinality(v_slots) > 0 then
    -- again, in a statement of its own (a new snapshot), now that they are ours: a slot that
    -- another claim gave a run after this claim's snapshot was rechecked above with that
    -- snapshot's view of the run (not running yet), and is not free
    v_slots := array(select s.slot from durable.run_slots s
                      where s.queue = p_queue and s.key = p_key and s.slot = any (v_slots)
                        and not exists (select 1 from durable.workflows w
                                         where w.id = s.workflow_id and w.lease = s.lease
                                           and w.status = 'running')
                      order by s.slot);
  end if;
  -- more made, up to p_limit, by one claim at a time (one that finds another making them goes
  -- on with what it has)
  if cardinality(v_slots) < p_want and pg_catalog.pg_try_advisory_xact_lock(v_lock) then
    with made as (
      insert into durable.run_slots (queue, key, slot)
      select p_queue, p_key, m.top + i
        from (select coalesce(max(s.slot), 0) as top from durable.run_slots s
               where s.queue = p_queue and s.key = p_key) m,
             -- (a few more than wanted: other claims find them made)
           generate_series(1, least(greatest(p_want - cardinality(v_slots), 16),
                                    p_limit - m.top)) i
      returning slot
    )
    select (v_slots || coalesce(array_agg(made.slot order by made.slot), '{}'))[1:p_want]
      into v_slots from made;
  end if;
  -- after the limit was lowered (or runs that ran before it were counted in, set_queue), while a
  -- slot above it still holds a run: every held slot counts, one such claim at a time (one that
  -- finds another counting takes nothing now)
  if cardinality(v_slots) > 0
     and exists (select 1 from durable.run_slots s  -- (an index probe, usually empty)
                  where s.queue = p_queue and s.key = p_key and s.slot > p_limit)
     and exists (select 1 from durable.run_slots s
                  join durable.workflows w on w.id = s.workflow_id and w.lease = s.lease
                 where s.queue = p_queue and s.key = p_key and s.slot > p_limit
                   and w.status = 'running') then
    if pg_catalog.pg_try_advisory_xact_lock(v_lock) then
      v_slots := v_slots[1:greatest(0, p_limit - (
        select count(*) from durable.run_slots s
          join durable.workflows w on w.id = s.workflow_id and w.lease = s.lease
         where s.queue = p_queue and s.key = p_key and w.status = 'running')::integer)];
    else
      v_slots := '{}';
    end if;
  end if;
  return v_slots;
end
$$;
comment on function durable.take_slots(text, text, integer, integer) is
  'Up to p_want free run slots of one concurrency limit (durable.run_slots: p_queue and p_key, '
  'p_limit slots), locked for the caller (for update skip locked: another claim''s are never '
  'waited for), made when missing. The caller writes into each the workflow it starts and its '
  'lease. Internal.';

create or replace function durable.prepare_slots(p_queue text, p_key text, p_limit integer)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_ids text[];
  v_leases bigint[];
  v_free integer[];
  v_n integer;
begin
  -- the limit's advisory lock, waited for (a claim making slots holds it until it commits)
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(
            'durable.run_slots:' || p_queue || chr(31) || p_key, 0));
  -- its slots up to p_limit (1,000 at most here; claims make more as needed)
  insert into durable.run_slots (queue, key, slot)
  select p_queue, p_key, i from generate_series(1, least(p_limit, 1000)) i
  on conflict do nothing;
  -- the runs that run under it without a slot (claimed before the limit was set) count: each
  -- takes a free slot, or one above the limit when none is left (claims then count them)
  select coalesce(array_agg(w.id order by w.id), '{}'),
         coalesce(array_agg(w.lease order by w.id), '{}')
    into v_ids, v_leases
    from durable.workflows w
   where w.status = 'running'
     and (p_queue = '' or w.queue = p_queue)
     and (p_key = '' or w.concurrency_key = p_key)
     and not exists (select 1 from durable.run_slots s
                      where s.queue = p_queue and s.key = p_key
                        and s.workflow_id = w.id and s.lease = w.lease);
  if cardinality(v_ids) = 0 then
    return;
  end if;
  v_free := array(select s.slot from durable.run_slots s
                   where s.queue = p_queue and s.key = p_key and s.slot <= p_limit
                     and not exists (select 1 from durable.workflows w
                                      where w.id = s.workflow_id and w.lease = s.lease
                                        and w.status = 'running')
                   order by s.slot
                   limit cardinality(v_ids)
                     for update skip locked);
  -- (checked again with a new snapshot, as durable.take_slots does)
  v_free := array(select s.slot from durable.run_slots s
                   where s.queue = p_queue and s.key = p_key and s.slot = any (v_free)
                     and not exists (select 1 from durable.workflows w
                                      where w.id = s.workflow_id and w.lease = s.lease
                                        and w.status = 'running')
                   order by s.slot);
  v_n := cardinality(v_free);
  update durable.run_slots s set workflow_id = v_ids[f.n], lease = v_leases[f.n]
    from unnest(v_free) with ordinality as f(slot, n)
   where s.queue = p_queue and s.key = p_key and s.slot = f.slot;
  insert into durable.run_slots (queue, key, slot, workflow_id, lease)
  select p_queue, p_key,
         (select greatest(coalesce(max(s.slot), 0), p_limit) from durable.run_slots s
           where s.queue = p_queue and s.key = p_key) + (r.n - v_n)::integer,
         r.id, r.lease
    from unnest(v_ids, v_leases) with ordinality as r(id, lease, n)
   where r.n > v_n;
end
$$;
comment on function durable.prepare_slots(text, text, integer) is
  'Makes the run slots 1..p_limit (at most 1,000) of one concurrency limit (durable.run_slots: '
  'p_queue and p_key; ('''', '''') is durable.settings.max_running, (queue, '''') a queue''s '
  'concurrency) and counts in the runs running under it without a slot: each takes a free slot, '
  'or one above the limit when none is left. Waits for the limit''s advisory lock. Called when '
  'a limit is set (set_queue, the settings trigger). Internal.';

create or replace function durable.settings_max_running()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if new.max_running is not null then
    perform durable.prepare_slots('', '', new.max_running);
  end if;
  return null;
end
$$;
comment on function durable.settings_max_running() is
  'Trigger: a new durable.settings.max_running makes its run slots and counts in the runs '
  'running then (durable.prepare_slots). Internal.';
create trigger settings_max_running
  after update of max_running on durable.settings
  for each row
  when (new.max_running is distinct from old.max_running)
  execute function durable.settings_max_running();
comment on trigger settings_max_running on durable.settings is
  'Makes the run slots of a new max_running (durable.prepare_slots).';

create or replace function durable.workflows_key_slots()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_per_key integer;
begin
  select q.key_concurrency into v_per_key from durable.queues q where q.name = new.queue;
  if v_per_key is not null
     and not exists (select 1 from durable.run_slots s
                      where s.queue = new.queue and s.key = new.concurrency_key) then
    insert into durable.run_slots (queue, key, slot)
    select new.queue, new.concurrency_key, i from generate_series(1, least(v_per_key, 64)) i
    on conflict do nothing;
  end if;
  return null;
end
$$;
comment on function durable.workflows_key_slots() is
  'Trigger: a workflow with a concurrency key enqueued into a queue with key_concurrency makes '
  'that key''s first run slots (up to 64; claims make more as needed) when it has none, so '
  'that they are committed before any claim sees the workflow: claims of a new key then do not '
  'wait for one another to make them. Internal.';
create trigger workflows_key_slots
  after insert on durable.workflows
  for each row
  when (new.concurrency_key is not null)
  execute function durable.workflows_key_slots();
comment on trigger workflows_key_slots on durable.workflows is
  'Makes a new concurrency key''s run slots (durable.workflows_key_slots).';

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
  steps jsonb,
  trace_context text
)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  -- durable.now() without a call while the clock is not pinned
  v_now timestamptz := case when pg_catalog.current_setting('durable.fake_now', true) <> ''
                            then durable.now() else pg_catalog.statement_timestamp() end;
  v_timeout interval;
  v_max interval;
  v_heartbeat timestamptz;
  v_current interval;
  v_login text;
  v_dead text[];
  v_names text[];
  v_version text;
  v_idle text[];
  v_max_lost integer;
  v_left integer := p_max;
  v_limit integer;
  v_got integer;
  v_queue record;
  v_parent text;
  v_failed text[];
  v_ids text[];
  v_slots integer[];
  v_qslots integer[];
  v_gslots integer[];
  v_max_running integer;
  v_kids text[];
  v_kkeys text[];
  v_kslots integer[];
  v_key record;
  v_free integer[];
begin
  -- The body of durable.claim and durable.complete_and_claim, which have checked p_queues and
  -- p_max. One function with few statements, since it runs once per workflow.
  if p_max > 0 then
    -- 1. the worker (lock order: first). Its shared lock, then in a statement of its own (whose
    -- snapshot sees a deletion that committed while we waited): the lease timeouts (default and
    -- limit), its row, the workers whose heartbeat expired (usually none), whether a queue has a
    -- limit. durable.touch_worker (which checks the id, the timeout and the login, and writes
    -- the row) is called only to register the worker, when its heartbeat is a tenth of its lease
    -- timeout old, or when something is to refuse or adopt.
    perform pg_catalog.pg_advisory_xact_lock_shared(durable.worker_lock_key(p_worker));
    select coalesce(p_lease_timeout, s.default_lease_timeout), s.max_lease_timeout,
           k.heartbeat_at, k.lease_timeout, k.login,
           array(select d.id from durable.workers d
                  where d.expires_at < v_now and d.id <> p_worker),  -- (it is back)
           k.workflow_names, k.version, k.idle_queues, s.max_lost_leases, s.max_running
      into v_timeout, v_max, v_heartbeat, v_current, v_login, v_dead,
           v_names, v_version, v_idle, v_max_lost, v_max_running
      from durable.settings s
      left join durable.workers k on k.id = p_worker;
    if v_heartbeat is null or v_heartbeat < v_now - v_timeout / 10
       or v_current is distinct from v_timeout or v_timeout > v_max
       or v_login is distinct from session_user then
      perform durable.touch_worker(p_worker, p_lease_timeout, v_now, false);
      if v_heartbeat is null then
        -- a new row (or one forgotten while the worker was late): what it registered
        select k.workflow_names, k.version into v_names, v_version
          from durable.workers k where k.id = p_worker;
      end if;
    end if;
    -- 2. (no queue row is locked: concurrency limits are run slots, rate limits start slots,
    -- rows of their own taken skip locked in step 4b, so claims of one queue never wait for
    -- each other)
  end if;

  -- 3. the workflow the worker finished (complete, complete_and_claim), with its last step
  if p_complete then
    -- a child's parent may wait on it: the parent's family lock before any row (waiting.sql)
    select w.parent_id into v_parent from durable.workflows w where w.id = p_workflow_id;
    if v_parent is not null then
      perform durable.family_lock(v_parent);
    end if;
    if p_step_id is not null then
      -- fenced like durable.checkpoint (DU001, DU002, DU003, DU005, DU010, DU015); a step already
      -- recorded under that name is kept as it is
      perform durable.record_step(p_workflow_id, p_lease, p_step_id, p_step_name,
                                  p_step_output, null, p_step_started_at, v_now);
    end if;
    update durable.workflows w
       set status = 'succeeded', output = coalesce(p_output, 'null'), error = null,
           owner = null, owner_login = null, lease = null, finished_at = v_now
     where w.id = p_workflow_id and w.lease = p_lease and w.status = 'running'
       and (w.owner_login = session_user or w.owner_login is null)
       and (w.deadline is null or w.deadline > v_now);
    if not found then
      -- raises DU010, DU003, DU002 (also: past its deadline), DU001 or DU015, whichever applies
      perform durable.fence(p_workflow_id, p_lease);
      raise exception 'lease % on workflow % is lost', p_lease, p_workflow_id
        using errcode = 'DU001',
              detail = durable.lease_refusal('lease_lost', p_workflow_id, p_lease,
                         (select w.status from durable.workflows w where w.id = p_workflow_id));
    end if;
    if v_parent is not null then
      perform durable.wake_parent(v_parent, p_workflow_id, v_now);
    end if;
  end if;

  -- 4. the claim. First, workflows whose deadline passed are cancelled with their children
  -- (waiting.sql), when there are any (an index probe), in a subtransaction: a lock that does not
  -- come in time leaves them to the next claim or heartbeat, and never fails this claim
  if p_max > 0 and exists (select 1 from durable.workflows w
                            where w.deadline <= v_now
                              and w.status in ('pending', 'running', 'waiting')) then
    begin
      perform durable.expire_deadlines(v_now);
    exception when lock_not_available or deadlock_detected then
      null;
    end;
  end if;
  -- then queue by queue in the order given
  for v_queue in
    select u.name as asked, q.name, q.concurrency, q.paused, q.rate_limit, q.rate_period,
           q.key_concurrency
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

    -- 4a. reclaim the workflows of workers whose heartbeat expired (of the names and version
    -- this worker runs): each has lost a lease; one that has now lost as many as its bound
    -- (crash_limit.sql) fails instead, with an error that says so and at which step
    if cardinality(v_dead) > 0 then
      -- a child failed here wakes its parent: the parents' family locks first (lock order)
      perform durable.family_lock(x.parent_id)
         from (select distinct w.parent_id from durable.workflows w
                where w.queue = v_queue.name and w.status = 'running'
                  and w.owner = any (v_dead) and w.parent_id is not null
                  and w.lost_leases + 1 >= coalesce(w.max_lost_leases, v_max_lost)
                order by w.parent_id) x;
      with lost as materialized (
        select w.id, w.attempt, w.lost_leases + 1 as lost,
               (select coalesce(max(s.step_id) + 1, 0) from durable.steps s
                 where s.workflow_id = w.id) as step,
               (select s.name from durable.steps s where s.workflow_id = w.id
                 order by s.step_id desc limit 1) as after
          from durable.workflows w
         where w.queue = v_queue.name
           and w.status = 'running'
           and w.owner = any (v_dead)
           and (v_names is null or w.name = any (v_names))
           and (w.version is null or w.version = v_version)
           and (w.deadline is null or w.deadline > v_now)
           and w.lost_leases + 1 >= coalesce(w.max_lost_leases, v_max_lost)
           for update of w skip locked
      ),
      failed as (
        update durable.workflows w
           set status = 'failed', owner = null, owner_login = null, lease = null,
               finished_at = v_now, lost_leases = l.lost,
               error = pg_catalog.jsonb_build_object(
                 'type', 'WorkerLost',
                 'message', pg_catalog.format(
                   'the worker running it was lost %s times (the limit: enqueue''s '
                   'max_lost_leases or durable.settings.max_lost_leases), the last time during '
                   'step %s%s: a step that crashes its worker fails the workflow instead of '
                   'looping', l.lost, l.step,
                   coalesce(pg_catalog.format(' (after step %s, %s)', l.step - 1, l.after), '')),
                 'step', l.step, 'lost_leases', l.lost)
          from lost l
         where w.id = l.id
        returning w.id, w.attempt, w.name, w.error, w.parent_id
      ),
      logged as (
        insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
        select f.id, null, f.name, f.attempt, f.error, v_now from failed f
      )
      select array_agg(f.id) into v_failed from failed f where f.parent_id is not null;
      if v_failed is not null then
        perform durable.child_finished(f.id, v_now) from unnest(v_failed) f(id);
      end if;

      return query
      with picked as materialized (
        select w.id, w.lease as old_lease
          from durable.workflows w
         where w.queue = v_queue.name
           and w.status = 'running'
           and w.owner = any (v_dead)
           and (v_names is null or w.name = any (v_names))
           and (w.version is null or w.version = v_version)
           and (w.deadline is null or w.deadline > v_now)
         limit v_left
           for update of w skip locked
      ),
      claimed as (
        update durable.workflows w
           set owner = p_worker, owner_login = session_user,
               lease = nextval('durable.lease_seq'), claims = w.claims + 1, claimed_at = v_now,
               lost_leases = w.lost_leases + 1, version = coalesce(w.version, v_version)
          from picked p
         where w.id = p.id
        returning w.id, w.name, w.queue, w.input, w.lease, w.attempt, w.max_attempts,
                  durable.recorded_steps(w.id) as steps, w.trace_context, p.old_lease
      ),
      reslotted as (
        -- the run slots it holds go on under its new lease (no other claim holds them: they
        -- are not free while it runs under the old one)
        update durable.run_slots s set lease = c.lease
          from claimed c
         where s.workflow_id = c.id and s.lease = c.old_lease
      )
      select c.id, c.name, c.queue, c.input, c.lease, c.attempt, c.max_attempts, c.steps,
             c.trace_context
        from claimed c;
      get diagnostics v_got = row_count;
      v_left := v_left - v_got;
      continue when v_left = 0;
    end if;

    -- 4b. take runnable workflows, within the queue's concurrency limit, durable.settings.
    -- max_running (run slots: one of each limit per workflow started, durable.take_slots) and the
    -- rate limit (start slots)
    v_limit := v_left;
    v_qslots := null;
    v_gslots := null;
    if v_queue.concurrency is not null then
      v_qslots := durable.take_slots(v_queue.name, '', v_queue.concurrency, v_limit);
      v_limit := cardinality(v_qslots);
      continue when v_limit = 0;
    end if;
    if v_max_running is not null then
      v_gslots := durable.take_slots('', '', v_max_running, v_limit);
      v_limit := cardinality(v_gslots);
      continue when v_limit = 0;
    end if;
    if v_queue.rate_limit is not null then
      -- the start slots free (last used a period ago or more) that no other claim holds; more
      -- made, up to rate_limit, by one claim at a time (one that finds another making them
      -- goes on with what it has)
      v_slots := array(select r.slot from durable.queue_starts r
                        where r.queue = v_queue.name and r.slot <= v_queue.rate_limit
                          and r.at <= v_now - v_queue.rate_period
                        order by r.at
                        limit v_limit
                          for update skip locked);
      if cardinality(v_slots) < v_limit
         and pg_catalog.pg_try_advisory_xact_lock(
               pg_catalog.hashtextextended('durable.queue_starts:' || v_queue.name, 0)) then
        with made as (
          insert into durable.queue_starts (queue, slot, at)
          select v_queue.name, m.top + i, '-infinity'
            from (select coalesce(max(r.slot), 0) as top from durable.queue_starts r
                   where r.queue = v_queue.name) m,
                 -- (a few more than wanted: other claims find them made)
                 generate_series(1, least(greatest(v_limit - cardinality(v_slots), 64),
                                          v_queue.rate_limit - m.top)) i
          returning slot
        )
        select (v_slots || coalesce(array_agg(made.slot order by made.slot), '{}'))[1:v_limit]
          into v_slots from made;
      end if;
      -- after the limit was lowered, until the starts of the slots above it have left the
      -- window: every start in the window counts, one such claim at a time (one that finds
      -- another counting takes nothing from this queue now)
      if exists (select 1 from durable.queue_starts r
                  where r.queue = v_queue.name and r.slot > v_queue.rate_limit
                    and r.at > v_now - v_queue.rate_period) then
        if pg_catalog.pg_try_advisory_xact_lock(
             pg_catalog.hashtextextended('durable.queue_starts:' || v_queue.name, 0)) then
          v_slots := v_slots[1:greatest(0, v_queue.rate_limit - (
            select count(*) from durable.queue_starts r
             where r.queue = v_queue.name and r.at > v_now - v_queue.rate_period)::integer)];
        else
          v_slots := '{}';
        end if;
      end if;
      v_limit := cardinality(v_slots);
      continue when v_limit = 0;
    end if;
    v_kids := '{}';
    v_kkeys := '{}';
    v_kslots := '{}';
    if v_queue.key_concurrency is not null then
      -- per-key limit: the keys at their limit are skipped, so one busy key never holds back
      -- the others (flow_control.sql); taken one by one in the claim's order. Then each key's
      -- run slots: a key's workflows beyond the slots it got are left (another claim holds
      -- that key's other slots, or its count above was stale)
      v_ids := durable.pick_by_key(v_queue.name, v_queue.key_concurrency, v_limit, v_names,
                                   v_version, v_now);
      for v_key in
        select w.concurrency_key as key,
               array_agg(w.id order by array_position(v_ids, w.id)) as ids
          from durable.workflows w
         where w.id = any (v_ids) and w.concurrency_key is not null
         group by w.concurrency_key
         order by w.concurrency_key
         limit 1000
      loop
        v_free := durable.take_slots(v_queue.name, v_key.key, v_queue.key_concurrency,
                                     cardinality(v_key.ids));
        v_ids := array(select x from unnest(v_ids) x
                        where x <> all (v_key.ids[cardinality(v_free) + 1:]));
        v_kids := v_kids || v_key.ids[1:cardinality(v_free)];
        v_kkeys := v_kkeys || array_fill(v_key.key, array[cardinality(v_free)]);
        v_kslots := v_kslots || v_free;
      end loop;
    end if;
    return query
    with picked as materialized (
      select w.id
        from durable.workflows w
       where w.queue = v_queue.name
         and w.status in ('pending', 'waiting')
         and w.run_at <= v_now
         and (v_names is null or w.name = any (v_names))
         and (w.version is null or w.version = v_version)
         and (w.deadline is null or w.deadline > v_now)
         and v_queue.key_concurrency is null
       order by w.priority desc, w.run_at, w.seq
       limit v_limit
         for update skip locked
    ),
    keyed as materialized (
      -- the per-key pick (pick_by_key), locked here with its conditions checked again
      select k.id from durable.workflows k
       where v_queue.key_concurrency is not null
         and k.id = any (v_ids)
         and k.status in ('pending', 'waiting')
         and k.run_at <= v_now
         and (k.deadline is null or k.deadline > v_now)
         for update skip locked
    ),
    chosen as (
      select p.id from picked p
      union all
      select k.id from keyed k
    ),
    claimed as (
      update durable.workflows w
         set status = 'running', owner = p_worker, owner_login = session_user,
             lease = nextval('durable.lease_seq'), claims = w.claims + 1, claimed_at = v_now,
             started_at = coalesce(w.started_at, v_now), version = coalesce(w.version, v_version)
        from chosen p
       where w.id = p.id
      -- a workflow claimed for the first time has recorded nothing (steps need a lease), but
      -- for a fork's copied steps
      returning w.id, w.name, w.queue, w.input, w.lease, w.attempt, w.max_attempts,
                case when w.claims = 1 and w.forked_from is null then '[]'::jsonb
                     else durable.recorded_steps(w.id) end as steps,
                w.trace_context
    ),
    numbered as (
      select c.id, c.lease, row_number() over () as i from claimed c
    ),
    slotted as (
      -- each run started writes itself and its lease into one slot of each limit it is under
      update durable.run_slots s set workflow_id = t.id, lease = t.lease
        from (select n.id, n.lease, v_queue.name as queue, '' as key, v_qslots[n.i] as slot
                from numbered n
               where v_qslots is not null
              union all
              select n.id, n.lease, '', '', v_gslots[n.i]
                from numbered n
               where v_gslots is not null
              union all
              select c.id, c.lease, v_queue.name, m.key, m.slot
                from claimed c
                join unnest(v_kids, v_kkeys, v_kslots) m(id, key, slot) on m.id = c.id) t
       where s.queue = t.queue and s.key = t.key and s.slot = t.slot
    )
    select c.id, c.name, c.queue, c.input, c.lease, c.attempt, c.max_attempts, c.steps,
           c.trace_context
      from claimed c;
    get diagnostics v_got = row_count;
    v_left := v_left - v_got;
    if v_queue.rate_limit is not null and v_got > 0 then
      -- one start slot used per workflow started (the others are left as they were)
      update durable.queue_starts r set at = v_now
       where r.queue = v_queue.name and r.slot = any (v_slots[1:v_got]);
    end if;
  end loop;

  -- 5. a claim that found nothing marks the worker as waiting on these queues (the notify
  -- triggers wake only such workers, idle_workers.sql); one that found work clears the mark.
  -- Written only when it changes, and skipped when another transaction holds the row (another
  -- slot of this worker registering it, or its heartbeat): this claim may hold family locks
  -- now (steps 3 and 4), which come after the workers row in the lock order, so it must not
  -- wait for that row here (two slots of one worker deadlocked so); the mark is a hint.
  if p_max > 0 then
    if v_left = p_max then
      if v_idle is distinct from p_queues then
        update durable.workers k set idle_queues = p_queues
         where k.id = (select x.id from durable.workers x where x.id = p_worker
                          for no key update skip locked);
      end if;
    elsif v_idle is not null then
      update durable.workers k set idle_queues = null
       where k.id = (select x.id from durable.workers x where x.id = p_worker
                        for no key update skip locked);
    end if;
  end if;
end
$$;
comment on function durable.take_work(text, text[], integer, interval, boolean, text, bigint, jsonb, integer, text, jsonb, timestamptz) is
  'The body of durable.claim, durable.complete and durable.complete_and_claim: registers or '
  'refreshes worker p_worker and locks the limited queues of p_queues (when p_max > 0), '
  'completes workflow p_workflow_id with p_output under p_lease when p_complete (recording its '
  'last step first when p_step_id is given), then claims up to p_max workflows of p_queues for '
  'the worker, reclaimed ones first. Reads the clock itself (durable.now()). Raises DU001, '
  'DU002, DU003, DU005, DU010 or DU015 for the workflow to complete, DU004 for an unknown '
  'queue, DU010 or DU011 for a bad worker id or lease timeout, DU015 when the worker id belongs '
  'to another login, DU009 as durable.now() does. Internal.';

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
  steps jsonb,
  trace_context text
)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
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
  'a JSON array of its recorded checkpoints [{step_id, name, output, error}] to replay, and '
  'trace_context: the W3C traceparent it was enqueued with (null: none), for the worker''s spans. '
  'Claiming registers the worker and keeps its heartbeat fresh. p_lease_timeout defaults to '
  'durable.settings.default_lease_timeout, and may not exceed durable.settings.'
  'max_lease_timeout. Skips rows other claims hold (SKIP LOCKED), paused queues, and queues at '
  'their concurrency limit. A worker id belongs to the login that registered it. Errors: DU004 '
  'unknown queue, DU010, DU011, DU015 the worker id belongs to another login.';

commit;
