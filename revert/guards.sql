-- guards: the checks several functions share, so each rule is written once.
--
--   durable.fence          the fencing check of checkpoint and step_failed (locks: the
--                          workflow row, for share)
--   durable.check_payload  the size limit on inputs, outputs and errors
--   durable.backoff        the retry delay: exponential with jitter
--   durable.check_retry_policy  the bounds of a retry policy (workflow or step)
--
-- They are internal: only durable_admin (and so the SECURITY DEFINER functions) may call them.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

-- v0.2.0's generated ids (enqueue and control, reverted before this, no longer call it)
drop function durable.uuidv7();
drop function durable.uuidv7s(integer);
-- v0.2.0's DETAIL of DU001 and DU002 (the fence below raises them without one)
drop function durable.lease_refusal(text, text, bigint, text, timestamptz);

create or replace function durable.fence(p_workflow_id text, p_lease bigint)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_status text;
  v_lease bigint;
  v_attempt integer;
begin
  if p_lease is null then
    raise exception 'lease must not be null'
      using errcode = 'DU010', hint = 'Pass the lease that durable.claim returned.';
  end if;
  -- for share: a claim (for update skip locked) skips this row until we commit, and a claim
  -- that committed first is seen here, so a stale token can never write.
  select w.status, w.lease, w.attempt
    into v_status, v_lease, v_attempt
    from durable.workflows w
   where w.id = p_workflow_id
     for share;
  if not found then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
  if v_status = 'cancelled' then
    raise exception 'workflow % was cancelled', p_workflow_id
      using errcode = 'DU002', hint = 'Stop executing it; nothing more will be recorded.';
  end if;
  if v_status <> 'running' or v_lease <> p_lease then
    raise exception 'lease % on workflow % is lost (status %, current lease %)',
        p_lease, p_workflow_id, v_status, coalesce(v_lease::text, 'none')
      using errcode = 'DU001',
            hint = 'Another worker claimed it, or it was released or finished: stop executing it.';
  end if;
  return v_attempt;
end
$$;
comment on function durable.fence(text, bigint) is
  'Locks the workflow row for share and returns its attempt when p_lease is its current lease; '
  'otherwise raises DU003 (unknown), DU002 (cancelled) or DU001 (lease lost). Internal.';

create or replace function durable.check_payload(p_value jsonb, p_what text)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_size integer := pg_catalog.pg_column_size(p_value);
  v_max integer;
begin
  -- settings_payload_range keeps the limit at 1 KiB or more: smaller values need no lookup
  if v_size is null or v_size <= 1024 then
    return;
  end if;
  select s.max_payload_bytes into v_max from durable.settings s;
  if v_size > v_max then
    raise exception '% is % bytes, over the limit of % bytes', p_what, v_size, v_max
      using errcode = 'DU008',
            hint = 'Store large data elsewhere and pass a reference, or raise '
                   'durable.settings.max_payload_bytes.';
  end if;
end
$$;
comment on function durable.check_payload(jsonb, text) is
  'Raises DU008 when p_value is larger than durable.settings.max_payload_bytes. Internal.';

create or replace function durable.backoff(p_attempt integer, p_base interval, p_max interval)
returns interval
language sql
volatile
set search_path = ''
as $$
  -- "equal jitter": half the exponential delay is fixed, half is random, so retries of many
  -- workflows that failed together spread out but never come back sooner than half the delay.
  -- Computed in seconds (double precision) so a large attempt or base cannot overflow.
  select pg_catalog.make_interval(secs =>
           least(pg_catalog.date_part('epoch', p_max),
                 pg_catalog.date_part('epoch', p_base)
                   * pg_catalog.power(2, least(greatest(p_attempt, 1) - 1, 60)))
           * (0.5 + 0.5 * pg_catalog.random()))
$$;
comment on function durable.backoff(integer, interval, interval) is
  'Delay before retry number p_attempt (from 1): d = least(p_max, p_base * 2^(p_attempt-1)), '
  'returned as a random value between d/2 and d.';

create or replace function durable.check_retry_policy(
  p_max_attempts integer, p_backoff_base interval, p_backoff_max interval
)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_max_attempts is null or p_max_attempts < 1 then
    raise exception 'max_attempts must be 1 or more, got %', coalesce(p_max_attempts::text, 'null')
      using errcode = 'DU011';
  end if;
  if p_backoff_base is null or p_backoff_base <= interval '0'
     or p_backoff_max is null or p_backoff_max < p_backoff_base then
    raise exception 'backoff must satisfy 0 < backoff_base <= backoff_max, got % and %',
        coalesce(p_backoff_base::text, 'null'), coalesce(p_backoff_max::text, 'null')
      using errcode = 'DU011';
  end if;
  if p_backoff_max > interval '10 years' then
    raise exception 'backoff_max must be 10 years or less, got %', p_backoff_max
      using errcode = 'DU011';
  end if;
end
$$;
comment on function durable.check_retry_policy(integer, interval, interval) is
  'Raises DU011 unless max_attempts >= 1 and 0 < backoff_base <= backoff_max <= 10 years (a '
  'longer backoff could not be added to the clock). Internal.';

commit;
