-- control: what clients and operators do to workflows and queues: cancel, retry, read a
-- result, configure a queue, purge old history.
--
-- Lock order: cancel: the family locks and rows of waiting.sql's durable.cancel_tree; retry:
-- the workflow row (for update; purge: the workflow rows it deletes), then steps, then errors
-- (purge reaches both through the foreign keys' cascade).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.cancel(p_workflow_id text)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
  v_status text;
begin
  select w.status into v_status from durable.workflows w where w.id = p_workflow_id;
  if not found then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
  if v_status = 'cancelled' then
    return v_status;
  end if;
  if v_status not in ('succeeded', 'failed') then
    -- with its unfinished children, in the lock order of waiting.sql (family locks, then rows)
    perform durable.cancel_tree(p_workflow_id, null, v_now);
    select w.status into v_status from durable.workflows w where w.id = p_workflow_id;
  end if;
  if v_status in ('succeeded', 'failed') then
    raise exception 'workflow % already finished with status %', p_workflow_id, v_status
      using errcode = 'DU013', hint = 'Only pending, running or waiting workflows can be cancelled.';
  end if;
  return 'cancelled';
end
$$;
comment on function durable.cancel(text) is
  'Cancels a pending, running or waiting workflow and returns ''cancelled'' (also when it was '
  'cancelled already), with its unfinished child workflows and theirs (but for those started '
  'detached); a parent waiting on it is woken. A worker running one of them learns at its next '
  'checkpoint (DU002) or heartbeat. Errors: DU003 unknown workflow, DU013 already finished.';

create or replace function durable.retry(p_workflow_id text)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
  v_status text;
  v_queue text;
  v_dedup_key text;
begin
  select w.status, w.queue, w.dedup_key into v_status, v_queue, v_dedup_key
    from durable.workflows w where w.id = p_workflow_id for update;
  if not found then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
  if v_status not in ('failed', 'cancelled') then
    raise exception 'workflow % is %, only failed or cancelled workflows can be retried',
        p_workflow_id, v_status
      using errcode = 'DU014';
  end if;
  begin
    update durable.workflows w
       set status = 'pending', attempt = w.attempt + 1,
           max_attempts = greatest(w.max_attempts, w.attempt + 1),
           run_at = v_now, finished_at = null
     where w.id = p_workflow_id;
  exception when unique_violation then
    -- a run that never started is pending again with its deduplication key, which another
    -- pending run of its queue holds now (index workflows_dedup): DU019 naming that run
    perform durable.dedup_refusal(v_queue, v_dedup_key);
  end;
  -- steps that ended in error run again (they stay in durable.errors); successful ones replay
  delete from durable.steps s where s.workflow_id = p_workflow_id and s.error is not null;
  return 'pending';
end
$$;
comment on function durable.retry(text) is
  'Runs a failed or cancelled workflow again as a new attempt, now: its successful steps are '
  'replayed, the steps that ended in error run again. Returns ''pending''. Errors: DU003 unknown '
  'workflow, DU014 not failed or cancelled, DU019 it never started and another pending run of '
  'its queue, not started yet, holds its deduplication key (retry it once that one started).';

create or replace function durable.fork(
  p_workflow_id text,
  p_step_id integer,
  p_new_id text default null,
  p_version text default null
)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_id text := coalesce(p_new_id, durable.uuidv7()::text);
begin
  if p_step_id is null or p_step_id < 0 then
    raise exception 'step_id must be 0 or more, got %', coalesce(p_step_id::text, 'null')
      using errcode = 'DU011',
            hint = 'The fork keeps the recorded steps before this position and runs the rest.';
  end if;
  if p_new_id = '' or length(p_new_id) > 200 then
    raise exception 'new workflow id must be 1 to 200 characters, or null'
      using errcode = 'DU011';
  end if;
  if p_version = '' or length(p_version) > 200 then
    raise exception 'version must be 1 to 200 characters, or null'
      using errcode = 'DU011';
  end if;
  if not exists (select 1 from durable.workflows w where w.id = p_workflow_id) then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
  insert into durable.workflows as w
         (id, name, queue, priority, run_at, max_attempts, backoff_base, backoff_max,
          max_lost_leases, input, created_at, version, concurrency_key, forked_from, forked_at)
  select v_id, o.name, o.queue, o.priority, v_now, o.max_attempts, o.backoff_base,
         o.backoff_max, o.max_lost_leases, o.input, v_now, p_version, o.concurrency_key,
         o.id, p_step_id
    from durable.workflows o where o.id = p_workflow_id
  on conflict (id) do nothing;
  if not found then
    raise exception 'workflow id % is already used', v_id
      using errcode = 'DU006', hint = 'Pass another p_new_id, or none to have one made.';
  end if;
  -- the recorded outcomes before the position, as the fork's own (replayed, not run again)
  insert into durable.steps
         (workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at)
  select v_id, s.step_id, s.name, s.output, s.error, 1, 0, s.started_at, s.created_at
    from durable.steps s
   where s.workflow_id = p_workflow_id and s.step_id < p_step_id;
  return v_id;
end
$$;
comment on function durable.fork(text, integer, text, text) is
  'Starts a new workflow (id p_new_id, or a generated one; returned) from workflow '
  'p_workflow_id: the same name, input, queue and policies, with its recorded steps before '
  'position p_step_id copied (replayed, not run again) and the rest to run. The original is '
  'left as it was; the fork records it (durable.runs.forked_from, forked_at). p_version pins '
  'the fork to that code version (null: the next claimer''s), e.g. to run a fixed version from '
  'the step a bug broke. Errors: DU003 unknown workflow, DU006 id taken, DU011 bad position, '
  'id or version.';

create or replace function durable.result(p_workflow_id text)
returns table (
  status text,
  output jsonb,
  error jsonb,
  attempt integer,
  created_at timestamptz,
  finished_at timestamptz
)
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
begin
  return query
  select w.status, w.output, w.error, w.attempt, w.created_at, w.finished_at
    from durable.workflows w
   where w.id = p_workflow_id;
  if not found then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
end
$$;
comment on function durable.result(text) is
  'The status of a workflow and, once finished, its output or error. Errors: DU003 unknown '
  'workflow.';

-- v0.2.0: rate limits and per-key concurrency (flow_control.sql): the v0.1.0 signature goes
drop function durable.set_queue(text, integer, boolean);
create function durable.set_queue(
  p_name text,
  p_concurrency integer default null,
  p_paused boolean default null,
  p_rate_limit integer default null,
  p_rate_period interval default null,
  p_key_concurrency integer default null
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_name is null or p_name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$' then
    raise exception 'queue name % is not valid', coalesce(p_name, 'null')
      using errcode = 'DU011',
            hint = 'Use 1 to 100 letters, digits, _ . : or -, starting with a letter or digit.';
  end if;
  if p_concurrency < 0 then
    raise exception 'concurrency must be 1 or more, or 0 for no limit, got %', p_concurrency
      using errcode = 'DU011',
            hint = 'Leave p_concurrency null to keep the current limit.';
  end if;
  if p_key_concurrency < 0 then
    raise exception 'key_concurrency must be 1 or more, or 0 for no limit, got %',
        p_key_concurrency
      using errcode = 'DU011',
            hint = 'Leave p_key_concurrency null to keep the current limit.';
  end if;
  if p_rate_limit < 0 then
    raise exception 'rate_limit must be 1 or more, or 0 for no limit, got %', p_rate_limit
      using errcode = 'DU011', hint = 'Leave p_rate_limit null to keep the current limit.';
  end if;
  if p_rate_limit > 0 and p_rate_period is null
     and not exists (select 1 from durable.queues q
                      where q.name = p_name and q.rate_period is not null) then
    raise exception 'a rate limit needs its period'
      using errcode = 'DU010', hint = 'Pass p_rate_period, e.g. interval ''1 second''.';
  end if;
  if p_rate_period is not null and coalesce(p_rate_limit, 1) > 0
     and (p_rate_period <= interval '0' or p_rate_period > interval '1 day') then
    raise exception 'rate_period must be more than 0 and at most 1 day, got %', p_rate_period
      using errcode = 'DU011';
  end if;
  if p_rate_period is not null and p_rate_limit is null
     and not exists (select 1 from durable.queues q
                      where q.name = p_name and q.rate_limit is not null) then
    raise exception 'a rate period needs its limit'
      using errcode = 'DU010', hint = 'Pass p_rate_limit with p_rate_period.';
  end if;
  -- only what is given changes: null keeps the current value (for a new queue, the default:
  -- no limit, not paused); 0 removes a limit (p_rate_limit = 0: the rate limit and its period)
  insert into durable.queues as q (name, concurrency, paused, rate_limit, rate_period,
                                   key_concurrency)
  values (p_name, nullif(p_concurrency, 0), coalesce(p_paused, false), nullif(p_rate_limit, 0),
          -- (the row proposed must pass the checks even when it updates: the kept period)
          case when p_rate_limit > 0
               then coalesce(p_rate_period, (select q.rate_period from durable.queues q
                                              where q.name = p_name)) end,
          nullif(p_key_concurrency, 0))
  on conflict (name) do update
     set concurrency = case when p_concurrency is null then q.concurrency
                            else nullif(p_concurrency, 0) end,
         paused = coalesce(p_paused, q.paused),
         rate_limit = case when p_rate_limit is null then q.rate_limit
                           else nullif(p_rate_limit, 0) end,
         rate_period = case when p_rate_limit = 0 then null
                            else coalesce(p_rate_period, q.rate_period) end,
         key_concurrency = case when p_key_concurrency is null then q.key_concurrency
                                else nullif(p_key_concurrency, 0) end;
  -- a rate limit given: its first start slots made (up to 1,000; claims make more as needed),
  -- so that claims do not wait for one another to make them
  if p_rate_limit > 0 then
    perform pg_catalog.pg_advisory_xact_lock(
              pg_catalog.hashtextextended('durable.queue_starts:' || p_name, 0));
    insert into durable.queue_starts (queue, slot, at)
    select p_name, i, '-infinity' from generate_series(1, least(p_rate_limit, 1000)) i
    on conflict do nothing;
  end if;
  -- a concurrency limit given: its run slots made, and the runs running now counted in
  -- (claims take slots, durable.take_slots); per key, the keys running now
  if p_concurrency > 0 then
    perform durable.prepare_slots(p_name, '', p_concurrency);
  end if;
  if p_key_concurrency > 0 then
    perform durable.prepare_slots(p_name, k.key, p_key_concurrency)
       from (select distinct w.concurrency_key as key from durable.workflows w
              where w.queue = p_name and w.status = 'running'
                and w.concurrency_key is not null
              order by 1) k;
  end if;
end
$$;
comment on function durable.set_queue(text, integer, boolean, integer, interval, integer) is
  'Creates queue p_name or changes only the settings given (null keeps a setting; a new queue '
  'has no limits and is not paused): p_concurrency (most workflows running at once in it; 0 '
  'removes the limit), p_paused (claims skip it), p_rate_limit and p_rate_period (at most '
  'p_rate_limit claims in any window of p_rate_period, more than 0 and at most 1 day, across '
  'all workers: a sliding window, as DBOS''s queue limiter counts starts over the last period; '
  'p_rate_limit 0 removes it), p_key_concurrency (at most that many running per concurrency key, '
  'enqueue''s p_concurrency_key; 0 removes it). Errors: DU010 (a rate limit without its period '
  'or the reverse), DU011 (bad name, negative limits, period out of range).';

create or replace function durable.purge(p_older_than interval)
returns bigint
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count bigint;
begin
  if p_older_than is null or p_older_than < interval '0' then
    raise exception 'older_than must be an interval of zero or more, got %',
        coalesce(p_older_than::text, 'null')
      using errcode = 'DU011';
  end if;
  -- not a child whose parent is unfinished: the parent may still await it (await_children)
  delete from durable.workflows w
   where w.status in ('succeeded', 'failed', 'cancelled')
     and w.finished_at < durable.now() - p_older_than
     and not exists (select 1 from durable.workflows p
                      where p.id = w.parent_id and p.status in ('pending', 'running', 'waiting'));
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
comment on function durable.purge(interval) is
  'Deletes workflows that finished more than p_older_than ago, with their steps, errors, '
  'waits, messages and events, but not a child whose parent is unfinished (it may await it). '
  'Returns how many workflows were deleted. Errors: DU011.';

commit;
