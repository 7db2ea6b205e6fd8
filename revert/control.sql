-- control: what clients and operators do to workflows and queues: cancel, retry, read a
-- result, configure a queue, purge old history.
--
-- Lock order: the workflow row (for update; purge: the workflow rows it deletes), then steps,
-- then errors (purge reaches both through the foreign keys' cascade).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop function durable.set_queue(text, integer, boolean, integer, interval, integer);
drop function durable.fork(text, integer, text, text);

create or replace function durable.cancel(p_workflow_id text)
returns text
language plpgsql
security definer
set search_path = ''
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
  v_status text;
begin
  select w.status into v_status from durable.workflows w where w.id = p_workflow_id for update;
  if not found then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
  if v_status = 'cancelled' then
    return v_status;
  end if;
  if v_status in ('succeeded', 'failed') then
    raise exception 'workflow % already finished with status %', p_workflow_id, v_status
      using errcode = 'DU013', hint = 'Only pending, running or waiting workflows can be cancelled.';
  end if;
  update durable.workflows w
     set status = 'cancelled', owner = null, lease = null, finished_at = v_now
   where w.id = p_workflow_id;
  return 'cancelled';
end
$$;
comment on function durable.cancel(text) is
  'Cancels a pending, running or waiting workflow and returns ''cancelled'' (also when it was '
  'cancelled already). A worker running it is told at its next checkpoint (DU002) or heartbeat. '
  'Errors: DU003 unknown workflow, DU013 already finished.';

create or replace function durable.retry(p_workflow_id text)
returns text
language plpgsql
security definer
set search_path = ''
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
  v_status text;
begin
  select w.status into v_status from durable.workflows w where w.id = p_workflow_id for update;
  if not found then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
  if v_status not in ('failed', 'cancelled') then
    raise exception 'workflow % is %, only failed or cancelled workflows can be retried',
        p_workflow_id, v_status
      using errcode = 'DU014';
  end if;
  update durable.workflows w
     set status = 'pending', attempt = w.attempt + 1,
         max_attempts = greatest(w.max_attempts, w.attempt + 1),
         run_at = v_now, finished_at = null
   where w.id = p_workflow_id;
  -- steps that ended in error run again (they stay in durable.errors); successful ones replay
  delete from durable.steps s where s.workflow_id = p_workflow_id and s.error is not null;
  return 'pending';
end
$$;
comment on function durable.retry(text) is
  'Runs a failed or cancelled workflow again as a new attempt, now: its successful steps are '
  'replayed, the steps that ended in error run again. Returns ''pending''. Errors: DU003 unknown '
  'workflow, DU014 not failed or cancelled.';

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
set search_path = ''
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

create or replace function durable.set_queue(
  p_name text,
  p_concurrency integer default null,
  p_paused boolean default false
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  if p_name is null or p_name !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$' then
    raise exception 'queue name % is not valid', coalesce(p_name, 'null')
      using errcode = 'DU011',
            hint = 'Use 1 to 100 letters, digits, _ . : or -, starting with a letter or digit.';
  end if;
  if p_concurrency < 1 then
    raise exception 'concurrency must be 1 or more (or null for no limit), got %', p_concurrency
      using errcode = 'DU011';
  end if;
  insert into durable.queues as q (name, concurrency, paused)
  values (p_name, p_concurrency, coalesce(p_paused, false))
  on conflict (name) do update
     set concurrency = excluded.concurrency, paused = excluded.paused;
end
$$;
comment on function durable.set_queue(text, integer, boolean) is
  'Creates queue p_name or changes its settings: p_concurrency (most workflows running at once '
  'in it, null for no limit) and p_paused (claims skip it). Errors: DU011.';

create or replace function durable.purge(p_older_than interval)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_count bigint;
begin
  if p_older_than is null or p_older_than < interval '0' then
    raise exception 'older_than must be an interval of zero or more, got %',
        coalesce(p_older_than::text, 'null')
      using errcode = 'DU011';
  end if;
  delete from durable.workflows w
   where w.status in ('succeeded', 'failed', 'cancelled')
     and w.finished_at < durable.now() - p_older_than;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
comment on function durable.purge(interval) is
  'Deletes workflows that finished more than p_older_than ago, with their steps and errors. '
  'Returns how many workflows were deleted. Errors: DU011.';

commit;
