-- checkpoint: record a step's outcome, once.
--
-- One call per new step. The outcome goes in under the unique key (workflow_id, step_id), in
-- the same statement as the fencing check. When that key is taken, nothing is written
-- and the outcome recorded first is returned: that is the one that counts.
--
-- durable.step_failed records a failed try of a step and decides, with the step's retry policy,
-- whether to try again (and after what delay) or to record the error as the step's outcome.
--
-- A lease works only for the login whose worker holds it (DU015, see guards.sql): the insert
-- that matches the lease also matches the row's owner_login with session_user.
--
-- Lock order: the workflow row (for share, in the insert of durable.record_step, or in
-- durable.fence), then the steps key, then errors.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.record_step(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_name text,
  p_output jsonb,
  p_error jsonb,
  p_started_at timestamptz,
  p_now timestamptz,
  out recorded boolean,
  out output jsonb,
  out error jsonb,
  out attempt integer
)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_name text;
  v_output jsonb := case when p_error is null then coalesce(p_output, 'null') end;
  v_error jsonb := p_error;
begin
  -- the fencing check and the insert in one statement: the workflow row must carry this lease,
  -- held by a worker of the caller's login, and is locked for share (a claim skips it until we
  -- commit; a claim that committed first has changed the lease, and nothing is written)
  insert into durable.steps as s
         (workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at)
  select w.id, p_step_id, p_name, v_output, v_error, w.attempt, w.lease, p_started_at, p_now
    from durable.workflows w
   where w.id = p_workflow_id and w.lease = p_lease and w.status = 'running'
     and (w.owner_login = session_user or w.owner_login is null)
     and (w.deadline is null or w.deadline > p_now)
     for share
  on conflict do nothing
  returning s.attempt into attempt;
  if found then
    recorded := true;
    output := v_output;
    error := v_error;
    return;
  end if;
  -- nothing written: the lease is not this one (durable.fence says why), or the position is taken
  attempt := durable.fence(p_workflow_id, p_lease);
  recorded := false;
  select s.name, s.output, s.error into v_name, v_output, v_error
    from durable.steps s
   where s.workflow_id = p_workflow_id and s.step_id = p_step_id;
  if v_name <> p_name then
    raise exception 'step % of workflow % is recorded as %, not %', p_step_id, p_workflow_id,
        v_name, p_name
      using errcode = 'DU005',
            hint = 'The workflow code is not deterministic: it must call the same steps in the '
                   'same order on every execution.';
  end if;
  output := v_output;
  error := v_error;
end
$$;
comment on function durable.record_step(text, bigint, integer, text, jsonb, jsonb, timestamptz, timestamptz) is
  'Inserts a step outcome, fenced by p_lease, unless one is recorded at that position, and '
  'returns the outcome that counts with the workflow''s attempt; DU001, DU002, DU003, DU010 or '
  'DU015 from durable.fence when the lease is not current or not the caller''s login''s, DU005 '
  'when the recorded step has another name. Internal.';

create or replace function durable.check_step(p_step_id integer, p_name text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_step_id is null or p_step_id < 0 then
    raise exception 'step_id must be 0 or more, got %', coalesce(p_step_id::text, 'null')
      using errcode = 'DU011', hint = 'step_id is the step''s position in the run: 0, 1, 2, ...';
  end if;
  if p_name is null or p_name = '' then
    raise exception 'step name must not be null or empty'
      using errcode = 'DU010';
  end if;
  if length(p_name) > 200 then
    raise exception 'step name is % characters long, the limit is 200', length(p_name)
      using errcode = 'DU011';
  end if;
end
$$;
comment on function durable.check_step(integer, text) is
  'Raises DU010 or DU011 on a bad step position or name. Internal.';

create or replace function durable.checkpoint(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_name text,
  p_output jsonb default 'null',
  p_error jsonb default null,
  p_started_at timestamptz default null,
  out recorded boolean,
  out output jsonb,
  out error jsonb
)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  -- durable.now() without a call while the clock is not pinned
  v_now timestamptz := case when pg_catalog.current_setting('durable.fake_now', true) <> ''
                            then durable.now() else pg_catalog.statement_timestamp() end;
  v_attempt integer;
begin
  -- The hot path of every worker: one call per new step. The checks call their functions only
  -- when a cheap test says there is something to refuse, and the usual outcome (recorded now)
  -- needs one statement; the rest goes through durable.record_step.
  if p_step_id is null or p_step_id < 0 or p_name is null or p_name = ''
     or length(p_name) > 200 then
    perform durable.check_step(p_step_id, p_name);
  end if;
  if pg_catalog.pg_column_size(p_output) > 1024 then
    perform durable.check_payload(p_output, 'step output');
  end if;
  if p_error is not null then
    perform durable.check_payload(p_error, 'step error');
    if pg_catalog.jsonb_typeof(p_error) = 'null' then
      raise exception 'error must not be JSON null'
        using errcode = 'DU010', hint = 'Pass the step''s error as JSON, e.g. {"message": "..."}.';
    end if;
  else
    -- fenced insert, as in durable.record_step
    insert into durable.steps as s
           (workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at)
    select w.id, p_step_id, p_name, coalesce(p_output, 'null'), null, w.attempt, w.lease,
           p_started_at, v_now
      from durable.workflows w
     where w.id = p_workflow_id and w.lease = p_lease and w.status = 'running'
       and (w.owner_login = session_user or w.owner_login is null)
       and (w.deadline is null or w.deadline > v_now)
       for share
    on conflict do nothing
    returning s.attempt into v_attempt;
    if found then
      recorded := true;
      output := coalesce(p_output, 'null');
      return;
    end if;
  end if;
  -- an error to record, or nothing written: record_step diagnoses (lease lost, position taken)
  select r.recorded, r.output, r.error, r.attempt into recorded, output, error, v_attempt
    from durable.record_step(p_workflow_id, p_lease, p_step_id, p_name, p_output, p_error,
                             p_started_at, v_now) r;
  -- lock order: the step key, then errors; only the call that recorded the step logs it
  if p_error is not null and recorded then
    insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
    values (p_workflow_id, p_step_id, p_name, v_attempt, p_error, v_now);
  end if;
end
$$;
comment on function durable.checkpoint(text, bigint, integer, text, jsonb, jsonb, timestamptz) is
  'Records the outcome of step p_step_id (its position in the run, from 0) named p_name: '
  'p_output, or p_error when the step failed for good (the error is then replayed as the step''s '
  'outcome). p_started_at, when given, is kept to show the step''s duration. Returns recorded = '
  'true when this call wrote it; false when it was already recorded, with the output and error '
  'that count. Errors: DU001 lease lost, DU002 cancelled, DU003 unknown workflow, DU005 another '
  'step is recorded at that position (nondeterminism), DU008 payload too large, DU010, DU011, '
  'DU015 the lease is held by a worker of another login. After the workflow''s deadline '
  '(enqueue''s p_timeout) nothing is recorded: DU002.';

-- v0.2.0 adds the column retry_in_seconds (a column more: the function is made again)
drop function durable.step_failed(text, bigint, integer, text, jsonb, integer, interval, interval, timestamptz);

create function durable.step_failed(
  p_workflow_id text,
  p_lease bigint,
  p_step_id integer,
  p_name text,
  p_error jsonb,
  p_max_attempts integer default 1,
  p_backoff_base interval default interval '1 second',
  p_backoff_max interval default interval '1 hour',
  p_started_at timestamptz default null
)
returns table (retry boolean, retry_in interval, tries integer, output jsonb, error jsonb,
               retry_in_seconds double precision)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
set enable_seqscan = off  -- index plans, whatever the statistics say (README)
set jit = off
as $$
declare
  v_now timestamptz := durable.now();
  v_attempt integer;
  v_tries integer;
  v_step record;
  v_delay interval;
begin
  perform durable.check_step(p_step_id, p_name);
  if p_error is null or pg_catalog.jsonb_typeof(p_error) = 'null' then
    raise exception 'error must not be null'
      using errcode = 'DU010', hint = 'Pass the step''s error as JSON, e.g. {"message": "..."}.';
  end if;
  perform durable.check_payload(p_error, 'step error');
  perform durable.check_retry_policy(p_max_attempts, p_backoff_base, p_backoff_max);
  v_attempt := durable.fence(p_workflow_id, p_lease);

  -- a step already recorded (by an earlier execution) is not retried: its outcome counts
  if exists (select 1 from durable.steps s
              where s.workflow_id = p_workflow_id and s.step_id = p_step_id) then
    return query
    select false, null::interval, 0, r.output, r.error, null::pg_catalog.float8
      from durable.record_step(p_workflow_id, p_lease, p_step_id, p_name, null, p_error,
                             p_started_at, v_now) r;
    return;
  end if;

  select count(*) + 1 into v_tries
    from durable.errors e
   where e.workflow_id = p_workflow_id and e.step_id = p_step_id and e.attempt = v_attempt;
  if v_tries < p_max_attempts then
    insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
    values (p_workflow_id, p_step_id, p_name, v_attempt, p_error, v_now);
    v_delay := durable.backoff(v_tries, p_backoff_base, p_backoff_max);
    return query
    select true, v_delay, v_tries, null::jsonb, null::jsonb,
           pg_catalog.date_part('epoch', v_delay);
    return;
  end if;
  -- lock order: the step key, then errors
  select r.output, r.error into v_step
    from durable.record_step(p_workflow_id, p_lease, p_step_id, p_name, null, p_error,
                             p_started_at, v_now) r;
  insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
  values (p_workflow_id, p_step_id, p_name, v_attempt, p_error, v_now);
  return query select false, null::interval, v_tries, v_step.output, v_step.error,
                      null::pg_catalog.float8;
end
$$;
comment on function durable.step_failed(text, bigint, integer, text, jsonb, integer, interval, interval, timestamptz) is
  'Records a failed try of step p_step_id (kept in durable.errors) and applies the step''s '
  'retry policy: while this attempt of the workflow has made fewer than p_max_attempts tries of '
  'the step, returns retry = true and retry_in = durable.backoff(tries, p_backoff_base, '
  'p_backoff_max), to run the step again after that delay (retry_in_seconds: the same delay '
  'in seconds, double precision, for drivers that read intervals badly); otherwise records '
  'p_error as the step''s outcome and returns retry = false with the outcome that counts '
  '(output, error; retry_in and retry_in_seconds null). Errors: those of durable.checkpoint, '
  'and DU011 for a bad retry policy (max_attempts < 1, not 0 < backoff_base <= backoff_max <= '
  '10 years).';

commit;
