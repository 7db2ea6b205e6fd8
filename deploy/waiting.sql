-- waiting: durable sleep, messages, events and child workflows; waiting is a state of the row,
-- never of a thread (design.md, "Waiting without a thread").
--
-- Every wait is a step at its position. The first time a run reaches it, its terms go into
-- durable.waits under the step's key (what it waits for, its deadline: fixed then, a replay
-- never extends it). When the wait is satisfied (the time passed, a message is there, the
-- event is set, the children finished) or its deadline passed, the same call records the
-- step's outcome and answers parked = false: one round trip. Otherwise the same call parks the
-- run: status waiting, run_at = the wait's deadline (infinity without one), owner and lease
-- cleared; the worker's slot is free at once. Whatever satisfies the wait (durable.send,
-- durable.send_step, durable.set_event, a child finishing, a cancel) makes the row pending in
-- its own transaction (with the NOTIFY of notify.sql); a passed deadline makes it runnable
-- through the claim. The next claim replays the recorded steps, the run reaches the wait
-- again, and that call records the outcome.
--
-- Race between a wait and what satisfies it: both sides take one transaction-scoped advisory
-- lock first, and look at the other's rows in a statement after it, so whichever commits
-- second sees the first:
--   messages  durable.message_lock(destination, topic): send, send_step, recv
--   events    durable.event_lock(workflow, key): set_event, await_event
--   children  durable.family_lock(parent): await_children, a child's finish (complete, fail for
--             good, cancel), start_child's parent is locked by its lease instead
-- Lock order: the advisory locks first, then workflow rows: a run's own row (its lease, for no
-- key update when it may park), then another workflow's row (a wake). A cancel takes the family
-- locks of each level of the tree before that level's rows (control.sql).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.family_lock(p_parent text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('durable.children:' || p_parent, 0));
end
$$;
comment on function durable.family_lock(text) is
  'Takes the transaction''s advisory lock on the children of workflow p_parent: a parent '
  'parking on its children and a child finishing take it first, so that one of them sees the '
  'other. Internal.';

create or replace function durable.message_lock(p_workflow_id text, p_topic text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('durable.messages:' || p_workflow_id || E'\x1f' || p_topic, 0));
end
$$;
comment on function durable.message_lock(text, text) is
  'Takes the transaction''s advisory lock on the messages of one topic of a workflow (send and '
  'recv). Internal.';

create or replace function durable.event_lock(p_workflow_id text, p_key text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('durable.events:' || p_workflow_id || E'\x1f' || p_key, 0));
end
$$;
comment on function durable.event_lock(text, text) is
  'Takes the transaction''s advisory lock on one event key of a workflow (set_event and '
  'await_event). Internal.';

create or replace function durable.check_name(p_value text, p_what text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_value is null or p_value = '' then
    raise exception '% must not be null or empty', p_what
      using errcode = 'DU010';
  end if;
  if length(p_value) > 200 then
    raise exception '% is % characters long, the limit is 200', p_what, length(p_value)
      using errcode = 'DU011';
  end if;
end
$$;
comment on function durable.check_name(text, text) is
  'Raises DU010 when p_value (a topic, an event key, an id, named p_what) is null or empty, '
  'DU011 when it is longer than 200 characters. Internal.';

create or replace function durable.check_timeout(p_timeout interval, p_what text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_timeout < interval '0' or p_timeout > interval '100 years' then  -- (infinity too, 17+)
    raise exception '% must be between 0 and 100 years, got %', p_what, p_timeout
      using errcode = 'DU011', hint = 'Pass null to wait without a timeout.';
  end if;
end
$$;
comment on function durable.check_timeout(interval, text) is
  'Raises DU011 unless p_timeout (named p_what) is null or between 0 and 100 years. Internal.';

create or replace function durable.wake(p_workflow_id text, p_now timestamptz)
returns boolean
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  -- pending now: the notify trigger wakes an idle worker of its queue
  update durable.workflows w set status = 'pending', run_at = p_now
   where w.id = p_workflow_id and w.status = 'waiting';
  if not found then
    return false;
  end if;
  update durable.waits t set woken_at = p_now
   where t.workflow_id = p_workflow_id and t.resolved_at is null;
  return true;
end
$$;
comment on function durable.wake(text, timestamptz) is
  'Makes waiting workflow p_workflow_id pending now (its open wait notes woken_at); false when '
  'it was not waiting. The caller has checked that its wait is satisfied. Internal.';

create or replace function durable.wake_parent(p_parent text, p_child text, p_now timestamptz)
returns boolean
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  -- the caller holds durable.family_lock(p_parent): a parent parking on its children has
  -- committed (and is seen here) or parks after us (and sees the child finished)
  if exists (
    select 1 from durable.waits t
      join durable.workflows p on p.id = t.workflow_id and p.status = 'waiting'
     where t.workflow_id = p_parent and t.kind = 'children' and t.resolved_at is null
       and (p_child is null or p_child = any (t.children))
       and not exists (select 1 from durable.workflows c
                        where c.parent_id = p_parent
                          and c.status in ('pending', 'running', 'waiting')
                          and c.id = any (t.children))) then
    return durable.wake(p_parent, p_now);
  end if;
  return false;
end
$$;
comment on function durable.wake_parent(text, text, timestamptz) is
  'Wakes workflow p_parent when it waits on its children (p_child among them, when given) and '
  'all of them are finished. The caller holds durable.family_lock(p_parent). Internal.';

create or replace function durable.child_finished(p_child text, p_now timestamptz)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_parent text;
begin
  select w.parent_id into v_parent from durable.workflows w where w.id = p_child;
  if v_parent is not null then
    perform durable.wake_parent(v_parent, p_child, p_now);
  end if;
end
$$;
comment on function durable.child_finished(text, timestamptz) is
  'After child p_child finished (the caller holds its parent''s durable.family_lock): wakes '
  'the parent when it waits on it and its other awaited children are finished. Internal.';

create or replace function durable.lock_run(
  p_workflow_id text, p_lease bigint, p_now timestamptz
)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_attempt integer;
begin
  -- the run's own row, for no key update (a wait may park it): fenced like checkpoint
  select w.attempt into v_attempt
    from durable.workflows w
   where w.id = p_workflow_id and w.lease = p_lease and w.status = 'running'
     and (w.owner_login = session_user or w.owner_login is null)
     and (w.deadline is null or w.deadline > p_now)
     for no key update;
  if not found then
    -- raises DU010, DU003, DU002 (cancelled, or past its deadline), DU001 or DU015
    perform durable.fence(p_workflow_id, p_lease);
    raise exception 'lease % on workflow % is lost', p_lease, p_workflow_id
      using errcode = 'DU001',
            detail = durable.lease_refusal('lease_lost', p_workflow_id, p_lease,
                       (select w.status from durable.workflows w where w.id = p_workflow_id));
  end if;
  return v_attempt;
end
$$;
comment on function durable.lock_run(text, bigint, timestamptz) is
  'Locks the row of running workflow p_workflow_id (for no key update) when p_lease is its '
  'lease, held by a worker of the calling login, before its deadline; returns its attempt. '
  'Otherwise raises what durable.fence raises. Internal.';

create or replace function durable.recorded_outcome(
  p_workflow_id text, p_step_id integer, p_name text, out recorded boolean, out output jsonb
)
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_name text;
  v_error jsonb;
begin
  select s.name, s.output, s.error into v_name, output, v_error
    from durable.steps s where s.workflow_id = p_workflow_id and s.step_id = p_step_id;
  recorded := v_name is not null;
  if recorded and (v_name <> p_name or v_error is not null) then
    raise exception 'step % of workflow % is recorded as %, not %', p_step_id, p_workflow_id,
        v_name, p_name
      using errcode = 'DU005',
            hint = 'The workflow code is not deterministic: it must call the same steps in the '
                   'same order on every execution.';
  end if;
end
$$;
comment on function durable.recorded_outcome(text, integer, text) is
  'The output recorded at step p_step_id (recorded = false when none); DU005 when the step there '
  'has another name or ended in error (a wait or a step the SQL records never does). Internal.';

create or replace function durable.wait_step(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_name text,
  p_kind text,
  p_topic text,
  p_target text,
  p_children text[],
  p_until timestamptz,
  p_timeout interval
)
returns table (parked boolean, output jsonb)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_attempt integer;
  v_recorded record;
  v_wait durable.waits;
  v_output jsonb;
  v_message record;
  v_due boolean;
  v_bad text;
begin
  perform durable.check_step(p_step_id, p_name);
  -- the advisory lock of what satisfies the wait, before any row (lock order, above)
  if p_kind = 'message' then
    perform durable.message_lock(p_workflow_id, p_topic);
  elsif p_kind = 'event' then
    perform durable.event_lock(p_target, p_topic);
  elsif p_kind = 'children' then
    perform durable.family_lock(p_workflow_id);
  end if;
  v_attempt := durable.lock_run(p_workflow_id, p_lease, v_now);
  if p_kind = 'children' then
    select u.id into v_bad
      from unnest(p_children) u(id)
     where not exists (select 1 from durable.workflows c
                        where c.id = u.id and c.parent_id = p_workflow_id)
     limit 1;
    if found then
      raise exception 'workflow % is not a child of workflow %', v_bad, p_workflow_id
        using errcode = 'DU016',
              hint = 'Await only the children this workflow started with durable.start_child.';
    end if;
  end if;

  -- recorded already (an answer lost, or called again): that outcome counts
  select r.recorded, r.output into v_recorded
    from durable.recorded_outcome(p_workflow_id, p_step_id, p_name) r;
  if v_recorded.recorded then
    return query select false, v_recorded.output;
    return;
  end if;

  -- the terms, fixed the first time the run reaches the wait
  insert into durable.waits as t
         (workflow_id, step_id, name, kind, topic, target, children, deadline, created_at)
  values (p_workflow_id, p_step_id, p_name, p_kind, p_topic, p_target, p_children,
          coalesce(p_until, v_now + p_timeout), v_now)
  on conflict (workflow_id, step_id) do nothing;
  select * into v_wait from durable.waits t
   where t.workflow_id = p_workflow_id and t.step_id = p_step_id;
  if v_wait.name <> p_name or v_wait.kind <> p_kind
     or v_wait.topic is distinct from p_topic or v_wait.target is distinct from p_target
     or v_wait.children is distinct from p_children then
    raise exception 'step % of workflow % waited for % %, not for % %', p_step_id,
        p_workflow_id, v_wait.kind, coalesce(v_wait.topic, v_wait.target,
                                              v_wait.children::text, ''),
        p_kind, coalesce(p_topic, p_target, p_children::text, '')
      using errcode = 'DU005',
            hint = 'The workflow code is not deterministic: it must wait for the same thing at '
                   'the same position on every execution.';
  end if;
  v_due := v_wait.deadline <= v_now;

  -- satisfied?
  if p_kind = 'sleep' then
    if v_due then
      v_output := pg_catalog.jsonb_build_object('slept_until', v_wait.deadline);
    end if;
  elsif p_kind = 'message' then
    select m.id, m.message into v_message
      from durable.messages m
     where m.workflow_id = p_workflow_id and m.topic = p_topic and m.consumed_at is null
     order by m.id
     limit 1
       for update;
    if found then
      update durable.messages m set consumed_at = v_now, consumed_step = p_step_id
       where m.id = v_message.id;
      v_output := pg_catalog.jsonb_build_object('message', v_message.message,
                                                'message_id', v_message.id);
    end if;
  elsif p_kind = 'event' then
    select pg_catalog.jsonb_build_object('value', e.value, 'event_id', e.id) into v_output
      from durable.events e
     where e.workflow_id = p_target and e.key = p_topic
     order by e.id desc
     limit 1;
  else  -- children
    if not exists (select 1 from durable.workflows c
                    where c.parent_id = p_workflow_id
                      and c.status in ('pending', 'running', 'waiting')
                      and c.id = any (p_children)) then
      v_output := pg_catalog.jsonb_build_object('children', durable.children_outcome(p_children));
    end if;
  end if;
  if v_output is null and v_due then
    v_output := pg_catalog.jsonb_build_object('timed_out', true);
    if p_kind = 'children' then
      v_output := v_output || pg_catalog.jsonb_build_object(
        'children', durable.children_outcome(p_children));
    end if;
  end if;

  if v_output is not null then
    -- the outcome, recorded as the step, with the message's consumption (one transaction)
    insert into durable.steps
           (workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at)
    values (p_workflow_id, p_step_id, p_name, v_output, null, v_attempt, p_lease,
            v_wait.created_at, v_now);
    update durable.waits t
       set resolved_at = v_now,
           outcome = case when v_output ? 'timed_out' then 'timed_out' else 'ready' end
     where t.workflow_id = p_workflow_id and t.step_id = p_step_id;
    return query select false, v_output;
    return;
  end if;

  -- park: the slot is free at once
  update durable.workflows w
     set status = 'waiting', run_at = coalesce(v_wait.deadline, 'infinity'),
         owner = null, owner_login = null, lease = null
   where w.id = p_workflow_id;
  update durable.waits t set parked_at = v_now
   where t.workflow_id = p_workflow_id and t.step_id = p_step_id;
  return query select true, null::jsonb;
end
$$;
comment on function durable.wait_step(text, bigint, integer, text, text, text, text, text[], timestamptz, interval) is
  'The body of every wait (sleep, recv, await_event, await_children): fixes the wait''s terms '
  'the first time, records its outcome when it is satisfied or its deadline passed, parks the '
  'run otherwise. Internal.';

create or replace function durable.children_outcome(p_children text[])
returns jsonb
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  return (select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'workflow_id', u.id, 'status', w.status,
                   'output', case when w.status = 'succeeded' then w.output end,
                   'error', case when w.status in ('failed', 'cancelled') then w.error end)
                   order by u.n), '[]')
            from unnest(p_children) with ordinality as u(id, n)
            join durable.workflows w on w.id = u.id);
end
$$;
comment on function durable.children_outcome(text[]) is
  'The children p_children as an await_children outcome: [{workflow_id, status, output, '
  'error}] in the order given (output once succeeded, error once failed or cancelled). Internal.';

-- the waits ---------------------------------------------------------------------------------

create or replace function durable.sleep(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_duration interval default null,
  p_until timestamptz default null,
  p_name text default 'durable.sleep'
)
returns table (parked boolean, output jsonb)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if (p_duration is null) = (p_until is null) then
    raise exception 'pass p_duration or p_until, exactly one of them'
      using errcode = 'DU011', hint = 'durable.sleep(id, lease, step, interval ''1 hour'').';
  end if;
  if p_until in ('infinity', '-infinity') then
    raise exception 'p_until must be a finite time'
      using errcode = 'DU011';
  end if;
  -- a duration of 0 or less, or a time passed, is due at once
  if p_duration > interval '100 years' or p_duration < interval '-100 years' then
    raise exception 'p_duration must be at most 100 years, got %', p_duration
      using errcode = 'DU011';
  end if;
  return query select * from durable.wait_step(p_workflow_id, p_lease, p_step_id, p_name,
                                               'sleep', null, null, null, p_until, p_duration);
end
$$;
comment on function durable.sleep(text, bigint, integer, interval, timestamptz, text) is
  'Durable sleep as step p_step_id (named p_name, default durable.sleep) of running workflow '
  'p_workflow_id under p_lease: for p_duration, or until p_until (exactly one; a duration of 0 '
  'or less or a time passed is due at once). The wake time '
  'is fixed the first time the run reaches the step (a replay never extends it). Returns '
  'parked = true when the run is now waiting (its lease is released: stop executing it; the '
  'claim hands it out again after the wake time), or parked = false with the recorded output '
  '{"slept_until": <time>} once the time has passed. Errors: DU001, DU002 (cancelled or past '
  'its deadline), DU003, DU005 (another step or wait at that position), DU010, DU011 (both or '
  'neither of p_duration and p_until, a duration over 100 years, an infinite time), DU015.';

create or replace function durable.recv(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_topic text default 'default',
  p_timeout interval default null,
  p_name text default 'durable.recv'
)
returns table (parked boolean, output jsonb)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform durable.check_name(p_topic, 'topic');
  perform durable.check_timeout(p_timeout, 'p_timeout');
  return query select * from durable.wait_step(p_workflow_id, p_lease, p_step_id, p_name,
                                               'message', p_topic, null, null, null, p_timeout);
end
$$;
comment on function durable.recv(text, bigint, integer, text, interval, text) is
  'Receives the oldest unconsumed message of topic p_topic (default ''default'') sent to '
  'workflow p_workflow_id, as step p_step_id (named p_name, default durable.recv) under '
  'p_lease. The message is consumed and the step recorded in one transaction: it is delivered '
  'exactly once. Returns parked = false with output {"message": <json>, "message_id": <id>}, '
  'or {"timed_out": true} once p_timeout (null: none; fixed the first time) has passed without '
  'one; or parked = true when the run is now waiting for a message (stop executing it: '
  'durable.send wakes it). Errors: DU001, DU002, DU003, DU005, DU010, DU011, DU015.';

create or replace function durable.await_event(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_target text,
  p_key text,
  p_timeout interval default null,
  p_name text default 'durable.get_event'
)
returns table (parked boolean, output jsonb)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform durable.check_name(p_target, 'target workflow id');
  perform durable.check_name(p_key, 'event key');
  perform durable.check_timeout(p_timeout, 'p_timeout');
  if not exists (select 1 from durable.workflows w where w.id = p_target) then
    raise exception 'unknown workflow %', p_target
      using errcode = 'DU003', hint = 'Check the workflow id whose event to wait for.';
  end if;
  return query select * from durable.wait_step(p_workflow_id, p_lease, p_step_id, p_name,
                                               'event', p_key, p_target, null, null, p_timeout);
end
$$;
comment on function durable.await_event(text, bigint, integer, text, text, interval, text) is
  'Waits, as step p_step_id (named p_name, default durable.get_event) of workflow '
  'p_workflow_id under p_lease, for event p_key of workflow p_target. Returns parked = false '
  'with output {"value": <json>, "event_id": <id>} (the latest value) once it is set, or '
  '{"timed_out": true} once p_timeout (null: none; fixed the first time) has passed; parked = '
  'true when the run is now waiting (durable.set_event wakes it). Errors: DU001, DU002, DU003 '
  '(also an unknown p_target), DU005, DU010, DU011, DU015.';

create or replace function durable.await_children(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_children text[],
  p_timeout interval default null,
  p_name text default 'durable.await_children'
)
returns table (parked boolean, output jsonb)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if cardinality(p_children) > 10000 or array_ndims(p_children) > 1 then
    raise exception 'children must be a one-dimensional array of at most 10000 ids'
      using errcode = 'DU011';
  end if;
  if p_children is null or cardinality(p_children) = 0 or array_position(p_children, null) is not null then
    raise exception 'children must be a non-empty array of workflow ids'
      using errcode = 'DU010';
  end if;
  perform durable.check_timeout(p_timeout, 'p_timeout');
  return query select * from durable.wait_step(p_workflow_id, p_lease, p_step_id, p_name,
                                               'children', null, null, p_children, null,
                                               p_timeout);
end
$$;
comment on function durable.await_children(text, bigint, integer, text[], interval, text) is
  'Waits, as step p_step_id (named p_name, default durable.await_children) of workflow '
  'p_workflow_id under p_lease, until every child in p_children (ids of its own children, '
  'at most 10000) has finished (succeeded, failed or cancelled): one wake-up for all of them. '
  'Returns parked = false with output {"children": [{workflow_id, status, output, error}, ...]} '
  'in the order given, or with "timed_out": true as well once p_timeout (null: none; fixed the '
  'first time) has passed (unfinished children then show their status, output and error '
  'null); parked = true when the run is now waiting (the last child to finish wakes it). '
  'Errors: DU001, DU002, DU003, DU005, DU010, DU011, DU015, DU016 an id that is not a child of '
  'p_workflow_id.';

-- steps that do not wait ----------------------------------------------------------------------

create or replace function durable.deliver(
  p_destination text, p_message jsonb, p_topic text, p_key text, p_sender text,
  p_now timestamptz
)
returns bigint
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_status text;
  v_id bigint;
begin
  perform durable.check_name(p_destination, 'destination workflow id');
  perform durable.check_name(p_topic, 'topic');
  if p_key = '' or length(p_key) > 200 then
    raise exception 'idempotency key must be 1 to 200 characters or null'
      using errcode = 'DU011';
  end if;
  if p_message is null then
    raise exception 'message must not be null'
      using errcode = 'DU010', hint = 'Pass JSON; ''null''::jsonb is a message too.';
  end if;
  perform durable.check_payload(p_message, 'message');
  -- lock order: the topic's lock, then rows; a recv parking on the topic commits before us (and
  -- is woken below) or after us (and finds the message)
  perform durable.message_lock(p_destination, p_topic);
  -- sent before under this key: that message counts, whatever became of the destination since
  -- (a retried send must not fail because the first one was received and the run finished)
  if p_key is not null then
    select m.id into v_id from durable.messages m
     where m.workflow_id = p_destination and m.idempotency_key = p_key;
    if found then
      return v_id;
    end if;
  end if;
  select w.status into v_status from durable.workflows w where w.id = p_destination;
  if not found then
    raise exception 'unknown workflow %', p_destination
      using errcode = 'DU003', hint = 'Send to the id of a workflow that exists.';
  end if;
  if v_status in ('succeeded', 'failed', 'cancelled') then
    raise exception 'workflow % already finished with status %: it receives no more messages',
        p_destination, v_status
      using errcode = 'DU013';
  end if;
  insert into durable.messages as m
         (workflow_id, topic, message, idempotency_key, sender, created_at)
  values (p_destination, p_topic, p_message, p_key, p_sender, p_now)
  on conflict (workflow_id, idempotency_key) do nothing
  returning m.id into v_id;
  if not found then
    -- sent before under this key: that message counts, nothing is sent again
    select m.id into v_id from durable.messages m
     where m.workflow_id = p_destination and m.idempotency_key = p_key;
    return v_id;
  end if;
  if v_status = 'waiting' and exists (
       select 1 from durable.waits t
        where t.workflow_id = p_destination and t.resolved_at is null
          and t.kind = 'message' and t.topic = p_topic) then
    perform durable.wake(p_destination, p_now);
  end if;
  return v_id;
end
$$;
comment on function durable.deliver(text, jsonb, text, text, text, timestamptz) is
  'The body of durable.send and durable.send_step: checks, stores the message (once per '
  'idempotency key) and wakes the destination when it waits on that topic. Internal.';

create or replace function durable.send(
  p_destination text,
  p_message jsonb,
  p_topic text default 'default',
  p_idempotency_key text default null
)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  return durable.deliver(p_destination, p_message, p_topic, p_idempotency_key, null,
                         durable.now());
end
$$;
comment on function durable.send(text, jsonb, text, text) is
  'Sends message p_message (any JSON) on topic p_topic (default ''default'') to workflow '
  'p_destination, in the caller''s transaction; wakes it when it waits in durable.recv on that '
  'topic. Returns the message id. With p_idempotency_key (1 to 200 characters), the same key '
  'to the same workflow again returns the first message''s id and sends nothing (also once the '
  'workflow has finished). Messages are '
  'received oldest first, each once. Errors: DU003 unknown workflow, DU008 too large, DU010, '
  'DU011, DU013 the workflow already finished.';

create or replace function durable.send_step(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_destination text,
  p_message jsonb,
  p_topic text default 'default',
  p_name text default 'durable.send'
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_attempt integer;
  v_recorded record;
  v_output jsonb;
begin
  perform durable.check_step(p_step_id, p_name);
  -- for share: the step's insert is fenced (DU002 past the deadline too)
  v_attempt := durable.fence(p_workflow_id, p_lease);
  select r.recorded, r.output into v_recorded
    from durable.recorded_outcome(p_workflow_id, p_step_id, p_name) r;
  if v_recorded.recorded then
    return v_recorded.output;
  end if;
  -- the idempotency key is the step's: the message goes once, whatever the sender's replays
  v_output := pg_catalog.jsonb_build_object('message_id', durable.deliver(
    p_destination, p_message, p_topic, p_workflow_id || ':' || p_step_id, p_workflow_id, v_now));
  insert into durable.steps
         (workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at)
  values (p_workflow_id, p_step_id, p_name, v_output, null, v_attempt, p_lease, v_now, v_now);
  return v_output;
end
$$;
comment on function durable.send_step(text, bigint, integer, text, jsonb, text, text) is
  'durable.send from inside workflow p_workflow_id, as its step p_step_id (named p_name, '
  'default durable.send) under p_lease: the message and the step commit together, and a replay '
  'returns the recorded {"message_id": <id>} without sending again. Errors: those of '
  'durable.send and of durable.checkpoint (DU001, DU002, DU005, DU015).';

create or replace function durable.set_event(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_key text,
  p_value jsonb,
  p_name text default 'durable.set_event'
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_attempt integer;
  v_recorded record;
  v_id bigint;
  v_output jsonb;
begin
  perform durable.check_step(p_step_id, p_name);
  perform durable.check_name(p_key, 'event key');
  if p_value is null then
    raise exception 'event value must not be null'
      using errcode = 'DU010', hint = 'Pass JSON; ''null''::jsonb is a value too.';
  end if;
  perform durable.check_payload(p_value, 'event value');
  -- lock order: the key's lock, then rows (the run's own, then its awaiters')
  perform durable.event_lock(p_workflow_id, p_key);
  v_attempt := durable.lock_run(p_workflow_id, p_lease, v_now);
  select r.recorded, r.output into v_recorded
    from durable.recorded_outcome(p_workflow_id, p_step_id, p_name) r;
  if v_recorded.recorded then
    return v_recorded.output;
  end if;
  insert into durable.events (workflow_id, key, value, step_id, created_at)
  values (p_workflow_id, p_key, p_value, p_step_id, v_now)
  returning id into v_id;
  v_output := pg_catalog.jsonb_build_object('event_id', v_id);
  insert into durable.steps
         (workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at)
  values (p_workflow_id, p_step_id, p_name, v_output, null, v_attempt, p_lease, v_now, v_now);
  -- the workflows waiting for it (durable.await_event), and clients (durable.get_event)
  perform durable.wake(t.workflow_id, v_now)
     from durable.waits t
    where t.target = p_workflow_id and t.topic = p_key and t.kind = 'event'
      and t.resolved_at is null
    order by t.workflow_id;
  perform pg_catalog.pg_notify('durable_event', pg_catalog.jsonb_build_object(
    'workflow_id', p_workflow_id, 'key', p_key)::text);
  return v_output;
end
$$;
comment on function durable.set_event(text, bigint, integer, text, jsonb, text) is
  'Publishes event p_key = p_value (any JSON) of workflow p_workflow_id, as its step p_step_id '
  '(named p_name, default durable.set_event) under p_lease: the latest value per key counts, '
  'every value is kept (durable.run_events). Wakes the workflows waiting for it '
  '(durable.await_event) and sends NOTIFY durable_event with payload {"workflow_id", "key"} at '
  'commit (durable.get_event''s callers listen). A replay returns the recorded {"event_id": '
  '<id>} and sets nothing. Errors: DU001, DU002, DU003, DU005, DU008, DU010, DU011, DU015.';

create or replace function durable.start_child(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_name text,
  p_input jsonb default 'null',
  p_child_id text default null,
  p_queue text default null,
  p_priority integer default 0,
  p_timeout interval default null,
  p_detached boolean default false,
  p_step_name text default 'durable.start_child',
  p_trace_context text default null
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_attempt integer;
  v_recorded record;
  v_parent record;
  v_id text := p_child_id;
  v_type record;
  v_existing record;
  v_output jsonb;
begin
  perform durable.check_step(p_step_id, p_step_name);
  perform durable.check_timeout(p_timeout, 'p_timeout');
  if p_trace_context is not null then
    perform durable.check_trace_context(p_trace_context);
  end if;
  if p_timeout = interval '0' then
    raise exception 'p_timeout must be more than 0'
      using errcode = 'DU011', hint = 'Pass null for no timeout.';
  end if;
  -- for share: the step's insert is fenced, and a cancel of the parent (for update) waits for
  -- us, then finds the child
  v_attempt := durable.fence(p_workflow_id, p_lease);
  select w.deadline, w.version, w.queue, w.trace_context into v_parent
    from durable.workflows w where w.id = p_workflow_id;
  select r.recorded, r.output into v_recorded
    from durable.recorded_outcome(p_workflow_id, p_step_id, p_step_name) r;
  if v_recorded.recorded then
    return v_recorded.output;
  end if;
  if v_id is null then
    v_id := p_workflow_id || '-' || p_step_id;
    if length(v_id) > 200 then
      v_id := 'child-' || pg_catalog.md5(p_workflow_id) || '-' || p_step_id;
    end if;
  end if;
  -- no queue given or registered: the parent's (a worker serving the parent's queue only
  -- would otherwise never run the children, and the parent would wait for them forever)
  select coalesce(p_queue, t.queue, v_parent.queue) as queue,
         coalesce(t.max_attempts, 3) as max_attempts,
         coalesce(t.backoff_base, interval '1 second') as backoff_base,
         coalesce(t.backoff_max, interval '1 hour') as backoff_max,
         t.max_lost_leases, coalesce(p_timeout, t.timeout) as timeout
    into v_type
    from (select 1) one
    left join durable.workflow_types t on t.name = p_name;
  perform durable.check_enqueue(p_name, p_input, v_type.queue, v_id, null, null,
                                v_type.max_attempts, v_type.backoff_base, v_type.backoff_max,
                                v_type.max_lost_leases, v_type.timeout);
  insert into durable.workflows as w
         (id, name, queue, priority, run_at, max_attempts, backoff_base, backoff_max,
          max_lost_leases, input, created_at, parent_id, detached, deadline, trace_context)
  values (v_id, p_name, v_type.queue, coalesce(p_priority, 0), v_now, v_type.max_attempts,
          v_type.backoff_base, v_type.backoff_max, v_type.max_lost_leases,
          coalesce(p_input, 'null'), v_now, p_workflow_id, coalesce(p_detached, false),
          -- a detached child keeps only its own timeout
          case when p_detached then v_now + v_type.timeout
               else least(v_parent.deadline, v_now + v_type.timeout) end,
          -- the span that started it (the parent's step, when its worker traces), else the
          -- parent's own trace context (trace_context.sql): the child's spans join that trace
          coalesce(p_trace_context, v_parent.trace_context))
  on conflict (id) do nothing;
  if not found then
    select w.name, w.parent_id into v_existing from durable.workflows w where w.id = v_id;
    if v_existing.parent_id is distinct from p_workflow_id or v_existing.name <> p_name then
      raise exception 'workflow id % is taken by a workflow that is not a % child of %', v_id,
          p_name, p_workflow_id
        using errcode = 'DU016', hint = 'Pass another child id, or none to have one made.';
    end if;
  end if;
  v_output := pg_catalog.jsonb_build_object('workflow_id', v_id);
  insert into durable.steps
         (workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at)
  values (p_workflow_id, p_step_id, p_step_name, v_output, null, v_attempt, p_lease, v_now,
          v_now);
  return v_output;
end
$$;
comment on function durable.start_child(text, bigint, integer, text, jsonb, text, text, integer, interval, boolean, text, text) is
  'Starts child workflow p_name with p_input from running workflow p_workflow_id, as its step '
  'p_step_id (named p_step_name, default durable.start_child) under p_lease, and returns the '
  'recorded {"workflow_id": <child id>}. The child id is p_child_id, or made from the parent''s '
  'id and the step position (<parent>-<step>, or child-<md5 of parent>-<step> past 200 '
  'characters), so a replay finds the same child instead of starting another. The child '
  'records its parent (durable.runs.parent_id); a cancel of the parent (or its deadline) '
  'cancels it unless p_detached. Its deadline is the parent''s, or p_timeout from now when '
  'sooner (detached: p_timeout from now only). p_queue defaults to the queue the child''s '
  'workers registered, else the parent''s; the retry policy as in durable.enqueue. The child''s '
  'trace_context is p_trace_context (a W3C traceparent: the span of the parent''s worker that '
  'starts it, so the child''s spans hang under that step), else the parent''s own (its spans '
  'join the parent''s trace). Errors: DU011 a malformed p_trace_context, '
  'those of durable.enqueue and of durable.checkpoint, DU016 when p_child_id is taken by a workflow that is not this '
  'workflow''s child of that name.';

create or replace function durable.start_children(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_children jsonb,
  p_step_name text default 'durable.start_children',
  p_trace_context text default null
)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_attempt integer;
  v_recorded record;
  v_deadline timestamptz;
  v_bad record;
  v_ids jsonb;
  v_rows jsonb;
  v_queue text;
  v_trace text;
  v_output jsonb;
begin
  perform durable.check_step(p_step_id, p_step_name);
  if p_trace_context is not null then
    perform durable.check_trace_context(p_trace_context);
  end if;
  if p_children is null or pg_catalog.jsonb_typeof(p_children) <> 'array'
     or pg_catalog.jsonb_array_length(p_children) = 0 then
    raise exception 'children must be a non-empty JSON array of workflow objects'
      using errcode = 'DU012', hint = 'Pass [{"name": "...", "input": {...}}, ...].';
  end if;
  if pg_catalog.jsonb_array_length(p_children) > 10000 then
    raise exception 'at most 10000 children per call, got %',
        pg_catalog.jsonb_array_length(p_children)
      using errcode = 'DU011', hint = 'Start them in several steps.';
  end if;
  select e.n, e.item into v_bad
    from pg_catalog.jsonb_array_elements(p_children) with ordinality as e(item, n)
   where pg_catalog.jsonb_typeof(e.item) <> 'object'
      or pg_catalog.jsonb_typeof(e.item -> 'name') is distinct from 'string'
      or (e.item - array['name', 'input', 'workflow_id', 'queue', 'priority', 'timeout',
                         'detached']) <> '{}'::jsonb
   order by e.n
   limit 1;
  if found then
    raise exception 'child % is not an object with a name and known keys: %', v_bad.n,
        left(v_bad.item::text, 200)
      using errcode = 'DU012',
            hint = 'Keys: name (required), input, workflow_id, queue, priority, timeout, detached.';
  end if;
  -- for share: the step's insert is fenced, and a cancel of the parent waits for us
  v_attempt := durable.fence(p_workflow_id, p_lease);
  -- the children's trace: the span that starts them, else the parent's own (see start_child)
  select w.deadline, w.queue, coalesce(p_trace_context, w.trace_context)
    into v_deadline, v_queue, v_trace
    from durable.workflows w where w.id = p_workflow_id;
  select r.recorded, r.output into v_recorded
    from durable.recorded_outcome(p_workflow_id, p_step_id, p_step_name) r;
  if v_recorded.recorded then
    return v_recorded.output;
  end if;

  -- each child once, with its defaults (no temporary table: pg_temp is the caller's)
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'n', e.n,
           'id', coalesce(r.workflow_id,
                  case when length(p_workflow_id || '-' || p_step_id || '-' || e.n) <= 200
                       then p_workflow_id || '-' || p_step_id || '-' || e.n
                       else 'child-' || pg_catalog.md5(p_workflow_id) || '-' || p_step_id
                            || '-' || e.n end),
           'name', r.name, 'input', coalesce(r.input, 'null'),
           'queue', coalesce(r.queue, t.queue, v_queue), 'priority', coalesce(r.priority, 0),
           'max_attempts', coalesce(t.max_attempts, 3),
           'backoff_base', coalesce(t.backoff_base, interval '1 second'),
           'backoff_max', coalesce(t.backoff_max, interval '1 hour'),
           'max_lost_leases', t.max_lost_leases, 'timeout', coalesce(r.timeout, t.timeout),
           'detached', coalesce(r.detached, false)) order by e.n)
    into v_rows
    from pg_catalog.jsonb_array_elements(p_children) with ordinality as e(item, n)
   cross join pg_catalog.jsonb_to_record(e.item) as r(name text, input jsonb, workflow_id text,
           queue text, priority integer, timeout interval, detached boolean)
    left join durable.workflow_types t on t.name = r.name;
  perform durable.check_enqueue(c.name, c.input, c.queue, c.id, null, null, c.max_attempts,
                                c.backoff_base, c.backoff_max, c.max_lost_leases, c.timeout)
     from pg_catalog.jsonb_to_recordset(v_rows) as c(n bigint, id text, name text, input jsonb,
            queue text, max_attempts integer, backoff_base interval, backoff_max interval,
            max_lost_leases integer, timeout interval)
    order by c.n;
  if (select count(distinct c.id) from pg_catalog.jsonb_to_recordset(v_rows) as c(id text))
     < pg_catalog.jsonb_array_length(v_rows) then
    raise exception 'a child workflow id is given twice'
      using errcode = 'DU011', hint = 'Give each child its own id, or none.';
  end if;
  insert into durable.workflows as w
         (id, name, queue, priority, run_at, max_attempts, backoff_base, backoff_max,
          max_lost_leases, input, created_at, parent_id, detached, deadline, seq, trace_context)
  -- (a JSON null input comes back from jsonb_to_recordset as SQL null)
  select c.id, c.name, c.queue, c.priority, v_now, c.max_attempts, c.backoff_base,
         c.backoff_max, c.max_lost_leases, coalesce(c.input, 'null'), v_now, p_workflow_id,
         c.detached,
         case when c.detached then v_now + c.timeout else least(v_deadline, v_now + c.timeout) end,
         c.seq, v_trace
    from (select c.*, pg_catalog.nextval('durable.workflow_seq') as seq
            from (select * from pg_catalog.jsonb_to_recordset(v_rows) as x(n bigint, id text,
                    name text, input jsonb, queue text, priority integer, max_attempts integer,
                    backoff_base interval, backoff_max interval, max_lost_leases integer,
                    timeout interval, detached boolean)
                   order by x.n) c) c
   order by c.id
  on conflict (id) do nothing;
  select c.id, c.name into v_bad
    from pg_catalog.jsonb_to_recordset(v_rows) as c(id text, name text)
    join durable.workflows w on w.id = c.id
   where w.parent_id is distinct from p_workflow_id or w.name <> c.name
   limit 1;
  if found then
    raise exception 'workflow id % is taken by a workflow that is not a % child of %', v_bad.id,
        v_bad.name, p_workflow_id
      using errcode = 'DU016', hint = 'Pass another child id, or none to have one made.';
  end if;
  select pg_catalog.jsonb_agg(c.id order by c.n) into v_ids
    from pg_catalog.jsonb_to_recordset(v_rows) as c(n bigint, id text);
  v_output := pg_catalog.jsonb_build_object('workflow_ids', v_ids);
  insert into durable.steps
         (workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at)
  values (p_workflow_id, p_step_id, p_step_name, v_output, null, v_attempt, p_lease, v_now,
          v_now);
  return v_output;
end
$$;
comment on function durable.start_children(text, bigint, integer, jsonb, text, text) is
  'Starts up to 10000 child workflows of running workflow p_workflow_id in one step '
  '(p_step_id, named p_step_name, default durable.start_children) under p_lease, and returns '
  'the recorded {"workflow_ids": [...]} in the order given. p_children: [{"name", "input", '
  '"workflow_id", "queue", "priority", "timeout", "detached"}] (all but name optional); a '
  'child''s id defaults to <parent>-<step>-<n> (n from 1; past 200 characters '
  'child-<md5 of parent>-<step>-<n>); otherwise as durable.start_child, whose fan-out it is in '
  'one round trip and one commit; p_trace_context as start_child''s, for every child. Errors: '
  'those of durable.start_child, DU011 (more than '
  '10000, an id twice), DU012 (not an array of objects with known keys).';

-- clients -----------------------------------------------------------------------------------

create or replace function durable.get_event(p_workflow_id text, p_key text)
returns table (found boolean, value jsonb, set_at timestamptz)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform durable.check_name(p_key, 'event key');
  if not exists (select 1 from durable.workflows w where w.id = p_workflow_id) then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
  return query
  select true, e.value, e.created_at
    from durable.events e
   where e.workflow_id = p_workflow_id and e.key = p_key
   order by e.id desc
   limit 1;
  if not found then
    return query select false, null::jsonb, null::timestamptz;
  end if;
end
$$;
comment on function durable.get_event(text, text) is
  'The latest value of event p_key of workflow p_workflow_id: found = false (and nulls) when '
  'it was never set. It does not wait: LISTEN durable_event (payload {"workflow_id", "key"}) '
  'first, then call it, and call it again on each notification for that workflow and key. '
  'Errors: DU003 unknown workflow, DU010, DU011.';

create or replace function durable.notify_pending_again(p_workflow_id text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
begin
  perform pg_catalog.pg_notify('durable_runnable', w.queue)
     from durable.workflows w
    where w.id = p_workflow_id and w.status = 'pending' and w.run_at <= v_now
      and exists (select 1 from durable.workers k
                   where k.idle_queues @> array[w.queue] and k.expires_at >= v_now);
end
$$;
comment on function durable.notify_pending_again(text) is
  'NOTIFY durable_runnable for the queue of workflow p_workflow_id when it is pending and '
  'runnable and a live worker is idle on its queue: after a write that locked its row, which '
  'a claim at that moment skipped. Internal.';

create or replace function durable.watch(p_workflow_id text)
returns table (
  status text,
  output jsonb,
  error jsonb,
  attempt integer,
  created_at timestamptz,
  finished_at timestamptz
)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  -- marked only while unfinished (a finish that commits first is seen by the update's recheck)
  update durable.workflows w set watched = true
   where w.id = p_workflow_id and not w.watched
     and w.status in ('pending', 'running', 'waiting');
  -- that row lock made a claim at the same moment skip the run (skip locked) and its worker go
  -- idle: the notification the enqueue gave is given again, at our commit
  perform durable.notify_pending_again(p_workflow_id);
  return query select * from durable.result(p_workflow_id);
end
$$;
comment on function durable.watch(text) is
  'durable.result, and the promise of a NOTIFY durable_finished with payload p_workflow_id when '
  'the workflow finishes (succeeded, failed or cancelled; a failure that will be retried is not '
  'a finish). LISTEN durable_finished first, then call it: a workflow unfinished in its answer '
  'notifies. Errors: DU003 unknown workflow.';

create or replace function durable.notify_finished()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  perform pg_catalog.pg_notify('durable_finished', new.id);
  return null;
end
$$;
comment on function durable.notify_finished() is
  'Trigger function: NOTIFY durable_finished with the workflow id (durable.watch).';

create or replace trigger workflows_notify_finished
  after update of status on durable.workflows
  for each row
  when (new.watched and new.status in ('succeeded', 'failed', 'cancelled'))
  execute function durable.notify_finished();
comment on trigger workflows_notify_finished on durable.workflows is
  'Tells the callers of durable.watch that a watched workflow finished.';

-- cancels ------------------------------------------------------------------------------------

create or replace function durable.cancel_tree(p_root text, p_error jsonb, p_now timestamptz)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_parent text;
  v_level text[] := array[p_root];
  v_count integer := 0;
  v_got integer;
  v_error jsonb := p_error;
begin
  -- the root's parent may wait on it: its family lock first (lock order: advisory, then rows)
  select w.parent_id into v_parent from durable.workflows w where w.id = p_root;
  if v_parent is not null then
    perform durable.family_lock(v_parent);
  end if;
  -- level by level: a level's family locks (its children finishing wait for us), then its rows
  -- (a running one starting a child holds its row for share: we wait, then see that child)
  while cardinality(v_level) > 0 loop
    perform durable.family_lock(l.id) from unnest(v_level) l(id) order by l.id;
    update durable.workflows w
       set status = 'cancelled', owner = null, owner_login = null, lease = null,
           finished_at = p_now, error = coalesce(v_error, w.error)
     where w.id = any (v_level) and w.status in ('pending', 'running', 'waiting');
    get diagnostics v_got = row_count;
    v_count := v_count + v_got;
    v_error := pg_catalog.jsonb_build_object(
      'type', 'Cancelled',
      'message', pg_catalog.format('its ancestor %s was cancelled%s', p_root,
                                   case when p_error ->> 'type' = 'DeadlineExceeded'
                                        then ' (its deadline passed)' else '' end),
      'ancestor', p_root);
    -- the children of this level, finished ones too (a finished child's own children may run)
    select array_agg(c.id order by c.id) into v_level
      from durable.workflows c
     where c.parent_id = any (v_level) and not c.detached;
  end loop;
  if v_parent is not null then
    perform durable.wake_parent(v_parent, p_root, p_now);
  end if;
  return v_count;
end
$$;
comment on function durable.cancel_tree(text, jsonb, timestamptz) is
  'Cancels workflow p_root (its error set to p_error when given) and its unfinished descendants '
  '(under finished children too) that are not detached nor under a detached one (error {"type": "Cancelled", "ancestor": p_root}), then wakes the '
  'root''s parent when it waits on it; returns how many workflows it cancelled. Internal: '
  'durable.cancel and the deadlines call it.';

-- deadlines ---------------------------------------------------------------------------------

create or replace function durable.expire_deadlines(p_now timestamptz, p_limit integer default 100)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_id text;
  v_count integer := 0;
begin
  for v_id in
    select w.id from durable.workflows w
     where w.deadline <= p_now and w.status in ('pending', 'running', 'waiting')
     order by w.deadline
     limit p_limit
  loop
    v_count := v_count + durable.cancel_tree(
      v_id, pg_catalog.jsonb_build_object(
        'type', 'DeadlineExceeded',
        'message', 'the workflow''s deadline passed before it finished'),
      p_now);
  end loop;
  return v_count;
end
$$;
comment on function durable.expire_deadlines(timestamptz, integer) is
  'Cancels up to p_limit workflows whose deadline passed (error {"type": "DeadlineExceeded"}), '
  'with their descendants; returns how many workflows it cancelled. Internal: durable.claim '
  '(and complete_and_claim) and durable.heartbeat call it.';

commit;
