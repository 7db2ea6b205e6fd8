-- workers: heartbeats, and handing work back.
--
-- A worker's leases are alive while its row's expires_at (last heartbeat + lease timeout) is in
-- the future. Heartbeats are one write per worker per interval, not one per step: claim and
-- checkpoint never write the worker row except to register it or when it has gone stale.
--
-- Lock order (every function of durable takes locks in this order):
--   workers row -> queues row -> workflows rows -> steps -> errors
--
-- Rows of one table are locked in id order. In the place of the workers row, a claim holds a
-- shared advisory lock on its worker's id (durable.worker_lock_key) to its end, and whatever
-- deletes a worker row (release of a stopping worker, the heartbeat's clean-up) takes it
-- exclusively first: a worker row is never deleted under a claim that is taking work for it
-- (that work would then never be reclaimed). An advisory lock, not a row lock: the slots of one
-- worker claim at the same time, and shared row locks would make them share multixacts.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

-- the v0.2.0 heartbeat (p_busy) goes; the v0.1.0 one comes back below
drop function durable.heartbeat(text, interval, integer, integer, integer);

-- added in v0.2.0 (worker ids belong to logins)
drop function durable.refuse_worker(text);
drop function durable.adopt_workflows(text);

create or replace function durable.worker_lock_key(p_worker text)
returns bigint
language plpgsql
immutable
set search_path = ''
as $$
begin
  -- plpgsql, not sql: a SQL function with SET is parsed and planned on every call
  return pg_catalog.hashtextextended('durable.worker:' || p_worker, 0);
end
$$;
comment on function durable.worker_lock_key(text) is
  'The advisory lock key that stands for worker p_worker''s row: shared by its claims, '
  'exclusive for deleting the row. Internal.';

create or replace function durable.touch_worker(
  p_worker text, p_lease_timeout interval, p_now timestamptz, p_force boolean
)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_timeout interval;
  v_heartbeat timestamptz;
  v_current interval;
begin
  if p_worker is null or p_worker = '' then
    raise exception 'worker id must not be null or empty'
      using errcode = 'DU010', hint = 'Pass a stable, unique name per worker process.';
  end if;
  if length(p_worker) > 200 then
    raise exception 'worker id is % characters long, the limit is 200', length(p_worker)
      using errcode = 'DU011';
  end if;
  if p_lease_timeout <= interval '0' then
    raise exception 'lease timeout must be positive, got %', p_lease_timeout
      using errcode = 'DU011';
  end if;
  perform pg_catalog.pg_advisory_xact_lock_shared(durable.worker_lock_key(p_worker));
  -- a statement of its own after the lock, so that its snapshot sees a deletion that committed
  -- while we waited for the lock (the worker is then registered again)
  select coalesce(p_lease_timeout, s.default_lease_timeout), k.heartbeat_at, k.lease_timeout
    into v_timeout, v_heartbeat, v_current
    from durable.settings s
    left join durable.workers k on k.id = p_worker;
  if p_force or v_heartbeat is null then
    insert into durable.workers as k (id, started_at, heartbeat_at, lease_timeout, expires_at)
    values (p_worker, p_now, p_now, v_timeout, p_now + v_timeout)
    on conflict (id) do update
       set heartbeat_at = excluded.heartbeat_at, lease_timeout = excluded.lease_timeout,
           expires_at = excluded.expires_at;
  elsif v_heartbeat < p_now - v_timeout / 10 or v_current <> v_timeout then
    update durable.workers k
       set heartbeat_at = p_now, lease_timeout = v_timeout, expires_at = p_now + v_timeout
     where k.id = p_worker;
  end if;
end
$$;
comment on function durable.touch_worker(text, interval, timestamptz, boolean) is
  'Registers worker p_worker, or refreshes its heartbeat when p_force or when more than a tenth '
  'of its lease timeout has passed (so frequent claims do not write the row each time). Raises '
  'DU010 or DU011 on a bad worker id or lease timeout. Internal.';

create or replace function durable.heartbeat(p_worker text, p_lease_timeout interval default null)
returns table (workflow_id text, lease bigint)
language plpgsql
security definer
set search_path = ''
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
begin
  perform durable.touch_worker(p_worker, p_lease_timeout, v_now, true);
  -- forget dead workers that hold nothing (rows of running workflows keep theirs): the claim's
  -- list of dead workers to reclaim from stays as short as the work there is to reclaim
  delete from durable.workers k
   where k.id in (select d.id from durable.workers d
                   where d.expires_at < v_now
                     and not exists (select 1 from durable.workflows w
                                      where w.owner = d.id and w.status = 'running')
                     and pg_catalog.pg_try_advisory_xact_lock(durable.worker_lock_key(d.id))
                     for update skip locked);
  return query
  select w.id, w.lease
    from durable.workflows w
   where w.owner = p_worker and w.status = 'running';
end
$$;
comment on function durable.heartbeat(text, interval) is
  'Keeps worker p_worker''s leases alive for p_lease_timeout more (default '
  'durable.settings.default_lease_timeout) and returns the workflows it still holds with their '
  'leases: a workflow the worker runs that is not in the list was reclaimed, released or '
  'cancelled, and must stop. Call it about three times per lease timeout. Errors: DU010, DU011.';

create or replace function durable.release(p_worker text, p_workflow_ids text[] default null)
returns integer
language plpgsql
security definer
set search_path = ''
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
  v_count integer;
begin
  if p_worker is null or p_worker = '' then
    raise exception 'worker id must not be null or empty'
      using errcode = 'DU010';
  end if;
  if p_workflow_ids is null then
    -- the worker is stopping: forget it first (lock order: workers before workflows), once no
    -- claim of its own is under way
    perform pg_catalog.pg_advisory_xact_lock(durable.worker_lock_key(p_worker));
    delete from durable.workers k where k.id = p_worker;
  end if;
  with locked as materialized (
    select k.id from durable.workflows k
     where k.owner = p_worker
       and k.status = 'running'
       and (p_workflow_ids is null or k.id = any (p_workflow_ids))
     order by k.id
       for no key update
  )
  update durable.workflows w
     set status = 'pending', owner = null, lease = null, run_at = v_now
    from locked l
   where w.id = l.id and w.owner = p_worker and w.status = 'running';
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
comment on function durable.release(text, text[]) is
  'Hands workflows held by worker p_worker back to the queue at once (pending, runnable now), '
  'instead of waiting for its lease to expire: all of them when p_workflow_ids is null (the '
  'worker is stopping, and its row is removed), else only those listed. They resume from their '
  'last checkpoint. Returns how many were released. Errors: DU010.';

-- (revert/privileges.sql, which ran before this, could not grant a function that did not exist)
grant execute on function durable.heartbeat(text, interval) to durable_worker;

commit;
