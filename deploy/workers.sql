-- workers: heartbeats, and handing work back.
--
-- A worker's leases are alive while its row's expires_at (last heartbeat + lease timeout) is in
-- the future. Heartbeats are one write per worker per interval, not one per step: claim and
-- checkpoint never write the worker row except to register it or when it has gone stale.
--
-- Lock order (every function of durable takes locks in this order):
--   workers row -> queues row -> workflows rows -> steps -> errors
--
-- The advisory locks of waiting.sql (a parent's children, a message topic, an event key) come
-- right before the first workflow row; a run's own row before another's (a parent it wakes, a
-- cancel's tree level by level); the tables of waiting (waits, messages, events) after steps.
--
-- Rows of one table are locked in id order. In the place of the workers row, a claim holds a
-- shared advisory lock on its worker's id (durable.worker_lock_key) to its end, and whatever
-- deletes a worker row (release of a stopping worker, the heartbeat's clean-up) takes it
-- exclusively first: a worker row is never deleted under a claim that is taking work for it
-- (that work would then never be reclaimed). An advisory lock, not a row lock: the slots of one
-- worker claim at the same time, and shared row locks would make them share multixacts.
--
-- A worker id belongs to the login (session_user) that registered it (durable.workers.login):
-- registering, heartbeating and releasing under it from another login raise DU015, and so does
-- using the lease of a workflow it holds (see guards.sql). A row without a login (registered
-- before v0.2.0) is adopted, with its running workflows, by the first login that claims or
-- heartbeats under its id. Lease timeouts are at most durable.settings.max_lease_timeout (DU011
-- otherwise).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.worker_lock_key(p_worker text)
returns bigint
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
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
set search_path = pg_catalog, pg_temp
as $$
declare
  v_timeout interval;
  v_max interval;
  v_heartbeat timestamptz;
  v_current interval;
  v_login text;
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
  select coalesce(p_lease_timeout, s.default_lease_timeout), s.max_lease_timeout,
         k.heartbeat_at, k.lease_timeout, k.login
    into v_timeout, v_max, v_heartbeat, v_current, v_login
    from durable.settings s
    left join durable.workers k on k.id = p_worker;
  -- (an infinite interval, PostgreSQL 17 and later, is over any limit)
  if v_timeout > v_max then
    raise exception 'lease timeout % is over the limit of % set by durable.settings.max_lease_timeout',
        v_timeout, v_max
      using errcode = 'DU011',
            hint = 'Pass a shorter lease timeout (the heartbeat keeps long workflows leased), or '
                   'raise durable.settings.max_lease_timeout.';
  end if;
  if v_login <> session_user then
    perform durable.refuse_worker(p_worker);
  end if;
  if p_force or v_heartbeat is null or v_login is null then
    -- registers the worker for this login, or adopts a row without one; a row another login
    -- registered meanwhile is left alone
    -- a row forgotten while the worker was late gets its registration back (app_versions.sql)
    insert into durable.workers as k
           (id, login, started_at, heartbeat_at, lease_timeout, expires_at, workflow_names,
            version)
    select p_worker, session_user, p_now, p_now, v_timeout, p_now + v_timeout,
           r.workflow_names, r.version
      from (select 1) one
      left join durable.worker_registrations r
        on r.worker = p_worker and r.login = session_user
    on conflict (id) do update
       set login = excluded.login, heartbeat_at = excluded.heartbeat_at,
           lease_timeout = excluded.lease_timeout, expires_at = excluded.expires_at
     where k.login is null or k.login = excluded.login;
    if not found then
      perform durable.refuse_worker(p_worker);
    end if;
    if v_heartbeat is not null and v_login is null then
      perform durable.adopt_workflows(p_worker);
    end if;
  elsif v_heartbeat < p_now - v_timeout / 10 or v_current <> v_timeout then
    update durable.workers k
       set heartbeat_at = p_now, lease_timeout = v_timeout, expires_at = p_now + v_timeout
     where k.id = p_worker;
  end if;
end
$$;
comment on function durable.touch_worker(text, interval, timestamptz, boolean) is
  'Registers worker p_worker for the calling login (session_user), or refreshes its heartbeat '
  'when p_force or when more than a tenth of its lease timeout has passed (so frequent claims '
  'do not write the row each time); a row without a login is adopted. Raises DU010 or DU011 on '
  'a bad worker id or lease timeout (over durable.settings.max_lease_timeout included), DU015 '
  'when the worker id belongs to another login. Internal.';

create or replace function durable.refuse_worker(p_worker text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'worker id % belongs to another login', p_worker
    using errcode = 'DU015',
          hint = 'Pick another worker id: a worker id belongs to the login that registered it, '
                 'and only that login may claim, heartbeat or release under it.';
end
$$;
comment on function durable.refuse_worker(text) is
  'Raises DU015: worker id p_worker belongs to another login. Internal.';

create or replace function durable.adopt_workflows(p_worker text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  -- the workflows a worker registered before v0.2.0 claimed (owner_login null) become the
  -- adopting login's, so that other logins can no longer use their leases
  update durable.workflows w
     set owner_login = session_user
   where w.owner = p_worker and w.status = 'running' and w.owner_login is null;
end
$$;
comment on function durable.adopt_workflows(text) is
  'Gives the running workflows of worker p_worker that have no owner_login (claimed before '
  'v0.2.0) to the calling login, which has just adopted the worker. Internal.';

-- v0.2.0: p_busy (what the worker's slots still run), p_connections and p_concurrency_limit
-- (its share of the database); the v0.1.0 signature goes
drop function durable.heartbeat(text, interval);
create function durable.heartbeat(
  p_worker text, p_lease_timeout interval default null, p_busy integer default null,
  p_connections integer default null, p_concurrency_limit integer default null
)
returns table (workflow_id text, lease bigint)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
begin
  if p_busy < 0 then
    raise exception 'busy must be 0 or more, got %', p_busy
      using errcode = 'DU011', hint = 'Pass how many runs the worker''s slots are executing.';
  end if;
  if p_connections < 0 then
    raise exception 'connections must be 0 or more, got %', p_connections
      using errcode = 'DU011', hint = 'Pass how many server connections the worker holds.';
  end if;
  if p_concurrency_limit < 0 then
    raise exception 'concurrency limit must be 0 or more, got %', p_concurrency_limit
      using errcode = 'DU011',
            hint = 'Pass the adaptive limit on the workflows the worker holds at once.';
  end if;
  perform durable.touch_worker(p_worker, p_lease_timeout, v_now, true);
  -- one write, and only when a report changed (null: keep the last report)
  if p_busy is not null or p_connections is not null or p_concurrency_limit is not null then
    update durable.workers k
       set busy = coalesce(p_busy, k.busy),
           connections = coalesce(p_connections, k.connections),
           concurrency_limit = coalesce(p_concurrency_limit, k.concurrency_limit)
     where k.id = p_worker
       and (k.busy is distinct from coalesce(p_busy, k.busy)
            or k.connections is distinct from coalesce(p_connections, k.connections)
            or k.concurrency_limit is distinct from
               coalesce(p_concurrency_limit, k.concurrency_limit));
  end if;
  -- workflows whose deadline passed are cancelled, with their children (waiting.sql); in a
  -- subtransaction, only when there are some: a lock that does not come in time leaves them to
  -- the next heartbeat, and never costs this one its leases
  if exists (select 1 from durable.workflows w
              where w.deadline <= v_now and w.status in ('pending', 'running', 'waiting')) then
    begin
      perform durable.expire_deadlines(v_now);
    exception when lock_not_available or deadlock_detected then
      null;
    end;
  end if;
  -- forget dead workers that hold nothing (rows of running workflows keep theirs): the claim's
  -- list of dead workers to reclaim from stays as short as the work there is to reclaim
  delete from durable.workers k
   where k.id in (select d.id from durable.workers d
                   where d.expires_at < v_now
                     and not exists (select 1 from durable.workflows w
                                      where w.owner = d.id and w.status = 'running')
                     and pg_catalog.pg_try_advisory_xact_lock(durable.worker_lock_key(d.id))
                     for update skip locked);
  -- registrations of workers forgotten a day ago or more
  delete from durable.worker_registrations r
   where r.registered_at < v_now - interval '1 day'
     and not exists (select 1 from durable.workers k where k.id = r.worker);
  return query
  select w.id, w.lease
    from durable.workflows w
   where w.owner = p_worker and w.status = 'running';
end
$$;
comment on function durable.heartbeat(text, interval, integer, integer, integer) is
  'Keeps worker p_worker''s leases alive for p_lease_timeout more (default '
  'durable.settings.default_lease_timeout) and returns the workflows it still holds with their '
  'leases: a workflow the worker runs that is not in the list was reclaimed, released or '
  'cancelled, and must stop. It also cancels the workflows whose deadline passed (enqueue''s '
  'p_timeout), with their children. p_busy (optional): how many runs its slots are executing, '
  'cancelled ones still in a step included (durable.worker_status.busy); p_connections '
  '(optional): the server connections it holds (durable.worker_status.connections); '
  'p_concurrency_limit (optional): its adaptive limit on the workflows it holds at once, '
  'back-pressure (durable.worker_status.concurrency_limit); a null report keeps the last one. '
  'Call it about three '
  'times per lease timeout. Errors: DU010, DU011 '
  '(a lease timeout over durable.settings.max_lease_timeout included), DU015 when the worker id '
  'belongs to another login.';

create or replace function durable.release(p_worker text, p_workflow_ids text[] default null)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
  v_count integer;
  v_login text;
begin
  if p_worker is null or p_worker = '' then
    raise exception 'worker id must not be null or empty'
      using errcode = 'DU010';
  end if;
  if p_workflow_ids is null then
    -- the worker is stopping: forget it first (lock order: workers before workflows), once no
    -- claim of its own is under way
    perform pg_catalog.pg_advisory_xact_lock(durable.worker_lock_key(p_worker));
  else
    -- (so that the row cannot be deleted, and registered by another login, before we are done)
    perform pg_catalog.pg_advisory_xact_lock_shared(durable.worker_lock_key(p_worker));
  end if;
  -- only the worker's own login may take its work away; an unregistered worker holds nothing
  select k.login into v_login from durable.workers k where k.id = p_worker;
  if not found then
    return 0;
  elsif v_login <> session_user then
    perform durable.refuse_worker(p_worker);
  end if;
  if p_workflow_ids is null then
    delete from durable.workers k where k.id = p_worker;
  elsif v_login is null then
    -- registered before v0.2.0: this login adopts it, unless another one just did
    update durable.workers k set login = session_user
     where k.id = p_worker and (k.login is null or k.login = session_user);
    if not found then
      perform durable.refuse_worker(p_worker);
    end if;
    perform durable.adopt_workflows(p_worker);
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
     set status = 'pending', owner = null, owner_login = null, lease = null, run_at = v_now
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
  'last checkpoint. Returns how many were released (0 when the worker is not registered). '
  'Errors: DU010, DU015 when the worker id belongs to another login.';

commit;
