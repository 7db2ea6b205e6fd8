-- finish: end workflow runs, successfully or not, one or a batch per call.
--
-- Fenced like checkpoint: only the current lease of a running workflow can finish it. The
-- batch forms never raise for one stale item: they report an outcome per item (succeeded,
-- pending = retry scheduled, failed, lease_lost, cancelled, unknown), so a worker can finish
-- many workflows in one call. The single forms raise DU001, DU002 or DU003 instead.
--
-- A failure is retried (status pending, attempt + 1, run_at = now + durable.backoff(...)) while
-- attempts are left and the error is retryable; then the steps that ended in error are moved
-- out of the way (they are kept in durable.errors) so the retry runs them again, while every
-- successful step is kept and replayed. Otherwise the workflow fails for good.
--
-- durable.complete_and_claim is what a worker's slot calls when its workflow returns: it records
-- the last step (when the worker held its checkpoint back until the workflow ended), completes
-- the workflow and claims the slot's next one, in one statement and one commit.
--
-- A lease works only for the login whose worker holds it (DU015, see guards.sql): the
-- statements that match the leases also match the row's owner_login with session_user. A
-- batch with another login's current lease in it is refused whole.
--
-- Lock order: the worker (complete_and_claim: its advisory lock, as in durable.claim), the
-- limited queues' rows (complete_and_claim), the family locks of the parents of the workflows
-- that are children (advisory, in parent id order: waiting.sql), workflow rows in id order
-- (for no key update, in a materialized CTE, so that two batches, or a batch and
-- durable.release, never wait for each other in a cycle), then steps, then errors. complete_and_claim then claims as durable.claim
-- does (skip locked: it never waits there).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.check_batch(p_ids text[], p_leases bigint[], p_values jsonb[], p_what text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_ids is null or p_leases is null or p_values is null
     or cardinality(p_ids) <> cardinality(p_leases)
     or cardinality(p_ids) <> cardinality(p_values) then
    raise exception 'workflow ids, leases and %s must be arrays of the same length', p_what
      using errcode = 'DU011';
  end if;
  if array_ndims(p_ids) > 1 or array_ndims(p_leases) > 1 or array_ndims(p_values) > 1 then
    raise exception 'workflow ids, leases and %s must be one-dimensional arrays', p_what
      using errcode = 'DU011';
  end if;
  if cardinality(p_ids) <> (select count(distinct i) from unnest(p_ids) i where i is not null) then
    raise exception 'workflow ids must be distinct and not null'
      using errcode = 'DU011', hint = 'Finish each workflow once per call.';
  end if;
  perform durable.check_payload(v, p_what) from unnest(p_values) v;
end
$$;
comment on function durable.check_batch(text[], bigint[], jsonb[], text) is
  'Raises DU011 unless the arrays of a finishing batch have the same length and distinct ids, '
  'DU008 when a value is too large. Internal.';

-- v0.1.0's outcome_of(text): the lease is now needed, to tell another login's lease apart
drop function if exists durable.outcome_of(text);

create or replace function durable.outcome_of(p_workflow_id text, p_lease bigint)
returns text
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  v_status text;
  v_lease bigint;
  v_mine boolean;
  v_deadline timestamptz;
begin
  select w.status, w.lease,
         (w.owner_login = session_user or w.owner_login is null), w.deadline
    into v_status, v_lease, v_mine, v_deadline
    from durable.workflows w
   where w.id = p_workflow_id;
  if not found then
    return 'unknown';
  elsif v_status = 'cancelled' then
    return 'cancelled';
  elsif v_status = 'running' and v_lease = p_lease and v_mine and v_deadline <= durable.now() then
    return 'cancelled';  -- past its deadline: a heartbeat cancels it
  elsif v_status = 'running' and v_lease = p_lease and not v_mine then
    raise exception 'workflow % is held by a worker of another login', p_workflow_id
      using errcode = 'DU015',
            hint = 'A lease works only for the login whose worker claimed it: claim workflows '
                   'with worker ids of your own.';
  end if;
  return 'lease_lost';
end
$$;
comment on function durable.outcome_of(text, bigint) is
  'Why a workflow could not be finished with lease p_lease: cancelled (also: its deadline '
  'passed), lease_lost or unknown; '
  'raises DU015 when p_lease is current but held by a worker of another login. Internal.';

create or replace function durable.complete_batch(
  p_workflow_ids text[],
  p_leases bigint[],
  p_outputs jsonb[]
)
returns table (workflow_id text, status text)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
begin
  perform durable.check_batch(p_workflow_ids, p_leases, p_outputs, 'output');
  -- children's parents may wait on them: their family locks first, in id order (waiting.sql)
  perform durable.family_lock(x.parent_id)
     from (select distinct w.parent_id from durable.workflows w
            where w.id = any (p_workflow_ids) and w.parent_id is not null
            order by w.parent_id) x;
  return query
  with items as (
    select u.id, u.lease, u.output, u.n
      from unnest(p_workflow_ids, p_leases, p_outputs) with ordinality as u(id, lease, output, n)
  ),
  locked as materialized (
    select w.id from durable.workflows w join items i on w.id = i.id
     where w.lease = i.lease and w.status = 'running'
       and (w.owner_login = session_user or w.owner_login is null)
       and (w.deadline is null or w.deadline > v_now)
     order by w.id
       for no key update of w
  ),
  done as (
    update durable.workflows w
       set status = 'succeeded', output = coalesce(i.output, 'null'), error = null,
           owner = null, owner_login = null, lease = null, finished_at = v_now
      from items i, locked l
     where l.id = w.id and w.id = i.id and w.lease = i.lease and w.status = 'running'
    returning w.id
  )
  select i.id, coalesce(d.outcome, durable.outcome_of(i.id, i.lease))
    from items i
    left join (select d.id, 'succeeded' as outcome from done d) d on d.id = i.id
   order by i.n;
  -- a finished child wakes its parent when the parent waits on it and its other children
  perform durable.child_finished(w.id, v_now)
     from durable.workflows w
    where w.id = any (p_workflow_ids) and w.parent_id is not null
      and w.status in ('succeeded', 'failed');
end
$$;
comment on function durable.complete_batch(text[], bigint[], jsonb[]) is
  'Finishes workflows successfully: the i-th workflow with the i-th lease and output. Returns '
  'one row per item, in order, with its outcome: succeeded, or lease_lost, cancelled or unknown '
  'when that item was not written. Errors: DU008, DU011, DU015 when a lease given is held by a '
  'worker of another login (nothing is written).';

create or replace function durable.fail_batch(
  p_workflow_ids text[],
  p_leases bigint[],
  p_errors jsonb[],
  p_retryable boolean[] default null
)
returns table (workflow_id text, status text, run_at timestamptz)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
begin
  perform durable.check_batch(p_workflow_ids, p_leases, p_errors, 'error');
  if p_retryable is not null and cardinality(p_retryable) <> cardinality(p_workflow_ids) then
    raise exception 'retryable must be null or as long as the workflow ids'
      using errcode = 'DU011';
  end if;
  if array_position(p_errors, null) is not null then
    raise exception 'errors must not be null'
      using errcode = 'DU010', hint = 'Pass each error as JSON, e.g. {"message": "..."}.';
  end if;
  -- children's parents may wait on them: their family locks first, in id order (waiting.sql)
  perform durable.family_lock(x.parent_id)
     from (select distinct w.parent_id from durable.workflows w
            where w.id = any (p_workflow_ids) and w.parent_id is not null
            order by w.parent_id) x;
  return query
  with items as (
    select u.id, u.lease, u.error, coalesce(p_retryable[u.n], true) as retryable, u.n
      from unnest(p_workflow_ids, p_leases, p_errors) with ordinality as u(id, lease, error, n)
  ),
  locked as materialized (
    -- the decision, once per row: retried while it is retryable and attempts are left
    select w.id, i.error, i.retryable and w.attempt < w.max_attempts as retry
      from durable.workflows w join items i on w.id = i.id
     where w.lease = i.lease and w.status = 'running'
       and (w.owner_login = session_user or w.owner_login is null)
       and (w.deadline is null or w.deadline > v_now)
     order by w.id
       for no key update of w
  ),
  done as (
    update durable.workflows w
       set status = case when l.retry then 'pending' else 'failed' end,
           attempt = case when l.retry then w.attempt + 1 else w.attempt end,
           run_at = case when l.retry
                         then v_now + durable.backoff(w.attempt, w.backoff_base, w.backoff_max)
                         else w.run_at end,
           finished_at = case when l.retry then null else v_now end,
           error = l.error, owner = null, owner_login = null, lease = null
      from locked l
     where w.id = l.id
    returning w.id, w.status, w.run_at, w.error,
              case when w.status = 'pending' then w.attempt - 1 else w.attempt end as attempt
  ),
  history as (
    insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
    select d.id, null, null, d.attempt, d.error, v_now from done d
  ),
  rerun as (
    delete from durable.steps s
     using done d
     where d.status = 'pending' and s.workflow_id = d.id and s.error is not null
  )
  -- run_at only for a retry (v0.2.0: a failed workflow reported its old run_at)
  select i.id, coalesce(d.status, durable.outcome_of(i.id, i.lease)),
         case when d.status = 'pending' then d.run_at end
    from items i
    left join done d on d.id = i.id
   order by i.n;
  -- a finished child wakes its parent when the parent waits on it and its other children
  perform durable.child_finished(w.id, v_now)
     from durable.workflows w
    where w.id = any (p_workflow_ids) and w.parent_id is not null
      and w.status in ('succeeded', 'failed');
end
$$;
comment on function durable.fail_batch(text[], bigint[], jsonb[], boolean[]) is
  'Ends the current attempt of workflows with an error: the i-th workflow with the i-th lease, '
  'error and retryable flag (default true). A retryable failure with attempts left is retried '
  '(outcome pending, with the run_at of the retry; steps that ended in error run again, '
  'successful ones are replayed); otherwise the workflow fails (outcome failed, run_at null). '
  'Items not '
  'written report lease_lost, cancelled or unknown. Every error is kept in durable.errors. '
  'Errors: DU008, DU010, DU011, DU015 when a lease given is held by a worker of another login '
  '(nothing is written).';

create or replace function durable.complete(p_workflow_id text, p_lease bigint, p_output jsonb default 'null')
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
set plan_cache_mode = force_generic_plan
as $$
begin
  perform durable.check_payload(p_output, 'output');
  -- completing without claiming: durable.take_work with p_max 0 (it raises DU001, DU002, DU003,
  -- DU010 or DU015 when the lease is not current or not the caller's login's)
  perform 1 from durable.take_work(null, null, 0, null, true, p_workflow_id, p_lease,
                                   p_output);
  return 'succeeded';
end
$$;
comment on function durable.complete(text, bigint, jsonb) is
  'Finishes one workflow successfully with p_output and returns ''succeeded''. Errors: DU001 '
  'lease lost, DU002 cancelled, DU003 unknown workflow, DU008 output too large, DU010 null lease, '
  'DU011 output nested deeper than 128 levels, DU015 the lease is held by a worker of another '
  'login.';

create or replace function durable.fail(
  p_workflow_id text,
  p_lease bigint,
  p_error jsonb,
  p_retryable boolean default true
)
returns table (status text, run_at timestamptz)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_status text;
  v_run_at timestamptz;
begin
  select b.status, b.run_at into v_status, v_run_at
    from durable.fail_batch(array[p_workflow_id], array[p_lease], array[p_error],
                            array[p_retryable]) b;
  if v_status not in ('pending', 'failed') then
    -- nothing written: raises DU010, DU003, DU002 or DU001, whichever applies, as complete does
    -- (fail_batch has raised DU015 for another login's lease)
    perform durable.fence(p_workflow_id, p_lease);
    raise exception 'lease % on workflow % is lost', p_lease, p_workflow_id
      using errcode = 'DU001',
            detail = durable.lease_refusal('lease_lost', p_workflow_id, p_lease,
                       (select w.status from durable.workflows w where w.id = p_workflow_id));
  end if;
  return query select v_status, v_run_at;
end
$$;
comment on function durable.fail(text, bigint, jsonb, boolean) is
  'Ends the current attempt of one workflow with p_error. Returns status pending with the '
  'run_at of the retry when it will be retried, or failed. Errors: DU001 lease lost, '
  'DU002 cancelled, DU003 unknown workflow, DU008 error too large, DU010 null error or lease, '
  'DU011, DU015 the lease is held by a worker of another login.';

-- v0.2.0: its rows end with trace_context, as durable.claim's: a new result type
drop function durable.complete_and_claim(text, bigint, jsonb, text, text[], integer, interval, integer, text, jsonb, timestamptz);
create function durable.complete_and_claim(
  p_workflow_id text,
  p_lease bigint,
  p_output jsonb,
  p_worker text,
  p_queues text[] default array['default'],
  p_max integer default 1,
  p_lease_timeout interval default null,
  p_step_id integer default null,
  p_step_name text default null,
  p_step_output jsonb default 'null',
  p_step_started_at timestamptz default null
)
returns table (
  completed text,
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
  -- every argument is checked before anything is locked or written (the check functions are
  -- called only when a cheap test finds something to refuse: this runs once per workflow)
  if p_max is null or p_max < 0 or p_max > 1000
     or (p_max > 0 and (p_queues is null or cardinality(p_queues) = 0)) then
    perform durable.check_claim(p_queues, p_max, 0);
  end if;
  if pg_catalog.pg_column_size(p_output) > 1024 then
    perform durable.check_payload(p_output, 'output');
  end if;
  if p_step_id is not null or p_step_name is not null then
    perform durable.check_step(p_step_id, p_step_name);
    if pg_catalog.pg_column_size(p_step_output) > 1024 then
      perform durable.check_payload(p_step_output, 'step output');
    end if;
  end if;
  return query
  select 'succeeded'::text, t.*
    from durable.take_work(p_worker, p_queues, p_max, p_lease_timeout, true,
                           p_workflow_id, p_lease, p_output, p_step_id, p_step_name,
                           p_step_output, p_step_started_at) t;
  if found then
    return;
  end if;
  return query
  select 'succeeded'::text, null::text, null::text, null::text, null::jsonb, null::bigint,
         null::integer, null::integer, null::jsonb, null::text;
end
$$;
comment on function durable.complete_and_claim(text, bigint, jsonb, text, text[], integer, interval, integer, text, jsonb, timestamptz) is
  'Finishes workflow p_workflow_id successfully with p_output, as durable.complete does, and in '
  'the same transaction claims up to p_max (0 to 1000) workflows for worker p_worker, as '
  'durable.claim does with the same arguments. When p_step_id is given, it first records the '
  'workflow''s last step (p_step_id, p_step_name, p_step_output, p_step_started_at) as '
  'durable.checkpoint would. Returns a row per claimed workflow, with completed = ''succeeded'' '
  'and the columns of durable.claim, or one row with completed = ''succeeded'' and nulls when '
  'nothing was claimed. A refused call writes nothing. Errors: DU001 lease lost, DU002 '
  'cancelled, DU003 unknown workflow, DU004 unknown queue, DU005 another step is recorded at '
  'that position, DU008 payload too large, DU010, DU011 (a lease timeout over '
  'durable.settings.max_lease_timeout included), DU015 when p_worker, or the worker holding the '
  'lease, belongs to another login.';

commit;
