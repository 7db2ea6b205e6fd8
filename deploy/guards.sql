-- guards: the checks several functions share, so each rule is written once.
--
--   durable.fence          the fencing check of checkpoint and step_failed (locks: the
--                          workflow row, for share), and why a lease was refused
--   durable.check_payload  the size limit on inputs, outputs and errors
--   durable.backoff        the retry delay: exponential with jitter
--   durable.check_retry_policy  the bounds of a retry policy (workflow or step)
--   durable.uuidv7(s)      the generated workflow ids (enqueue, enqueue_batch, fork): time-
--                          ordered, so new rows go to the right edge of the id indexes
--
-- They are internal: only durable_admin (and so the SECURITY DEFINER functions) may call them.
--
-- A lease works only for the login (session_user) whose worker holds it: the claim writes that
-- login on the workflow row (durable.workflows.owner_login), and every function acting by lease
-- matches it with session_user in the statement that matches the lease (a workflow claimed
-- before v0.2.0 has none, and is accepted until its worker is adopted); durable.fence says
-- DU015 when that was what failed. No message shows a lease but the one the caller passed.
--
-- DU001 and DU002 carry a DETAIL that is a JSON object (durable.lease_refusal builds it), so a
-- driver in any language reads why without parsing the message: {"reason": "lease_lost" |
-- "cancelled" | "deadline_passed", "workflow_id", "lease" (the caller's, as a string: a bigint
-- past 2^53 survives JSON.parse), "status" (the run's status now), "deadline" (deadline_passed
-- only)}. It never shows the current lease or the worker holding it.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.lease_refusal(
  p_reason text, p_workflow_id text, p_lease bigint, p_status text,
  p_deadline timestamptz default null
)
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select (pg_catalog.jsonb_build_object(
            'reason', p_reason, 'workflow_id', p_workflow_id, 'lease', p_lease::pg_catalog.text,
            'status', p_status)
          || case when p_deadline is null then '{}'::pg_catalog.jsonb
                  else pg_catalog.jsonb_build_object('deadline', p_deadline) end)::pg_catalog.text
$$;
comment on function durable.lease_refusal(text, text, bigint, text, timestamptz) is
  'The DETAIL of a DU001 or DU002 refusal, as JSON text: {"reason": "lease_lost", "cancelled" or '
  '"deadline_passed", "workflow_id", "lease": the lease the caller passed, as a string, "status": '
  'the run''s status now, "deadline" (deadline_passed only)}. Never the current lease or its '
  'holder. Internal.';

create or replace function durable.fence(p_workflow_id text, p_lease bigint)
returns integer
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_status text;
  v_lease bigint;
  v_attempt integer;
  v_mine boolean;
  v_deadline timestamptz;
begin
  if p_lease is null then
    raise exception 'lease must not be null'
      using errcode = 'DU010', hint = 'Pass the lease that durable.claim returned.';
  end if;
  -- for share: a claim (for update skip locked) skips this row until we commit, and a claim
  -- that committed first is seen here, so a stale token can never write.
  select w.status, w.lease, w.attempt,
         (w.owner_login = session_user or w.owner_login is null), w.deadline
    into v_status, v_lease, v_attempt, v_mine, v_deadline
    from durable.workflows w
   where w.id = p_workflow_id
     for share;
  if not found then
    raise exception 'unknown workflow %', p_workflow_id
      using errcode = 'DU003', hint = 'Check the workflow id; durable.enqueue returns it.';
  end if;
  if v_status = 'cancelled' then
    raise exception 'workflow % was cancelled', p_workflow_id
      using errcode = 'DU002', hint = 'Stop executing it; nothing more will be recorded.',
            detail = durable.lease_refusal('cancelled', p_workflow_id, p_lease, v_status);
  end if;
  -- (the current lease is not shown: whoever holds a stale one must not learn it)
  if v_status <> 'running' or v_lease <> p_lease then
    raise exception 'lease % on workflow % is lost (status %)', p_lease, p_workflow_id, v_status
      using errcode = 'DU001',
            hint = 'Another worker claimed it, or it was released or finished: stop executing it.',
            detail = durable.lease_refusal('lease_lost', p_workflow_id, p_lease, v_status);
  end if;
  if not v_mine then
    raise exception 'workflow % is held by a worker of another login', p_workflow_id
      using errcode = 'DU015',
            hint = 'A lease works only for the login whose worker claimed it: claim workflows '
                   'with worker ids of your own.';
  end if;
  if v_deadline <= durable.now() then
    -- the heartbeat of a worker cancels it (waiting.sql, durable.expire_deadlines)
    raise exception 'workflow % passed its deadline (%) and is being cancelled', p_workflow_id,
        v_deadline
      using errcode = 'DU002', hint = 'Stop executing it; nothing more will be recorded.',
            detail = durable.lease_refusal('deadline_passed', p_workflow_id, p_lease, v_status,
                                           v_deadline);
  end if;
  return v_attempt;
end
$$;
comment on function durable.fence(text, bigint) is
  'Locks the workflow row for share and returns its attempt when p_lease is its current lease '
  'and the worker holding it belongs to the calling login (session_user); otherwise raises DU003 '
  '(unknown), DU002 (cancelled, or its deadline passed), DU001 (lease lost) or DU015 (the worker belongs to another '
  'login). DU001 and DU002 carry durable.lease_refusal''s JSON as their DETAIL. Internal.';

create or replace function durable.check_payload(p_value jsonb, p_what text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_size integer := pg_catalog.pg_column_size(p_value);
  v_max integer;
  v_shape text;
  v_depth integer := 0;
begin
  -- settings_payload_range keeps the limit at 1 KiB or more: smaller values need no lookup;
  -- and a jsonb value of 1 KiB or less nests at most 128 deep (each level of an array takes
  -- 8 bytes, of an object more), so the depth limit below needs no look either
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
  -- nesting depth at most 128: deeper JSON makes clients' recursive decoders fail (Python's
  -- json raised RecursionError and killed every worker that claimed the workflow). The
  -- brackets outside strings, then one level of innermost pairs removed per round.
  v_shape := pg_catalog.regexp_replace(
               pg_catalog.regexp_replace(p_value::pg_catalog.text, '"(?:[^"\\]|\\.)*"', '', 'g'),
               '[^][{}]', '', 'g');
  while v_shape <> '' loop
    v_depth := v_depth + 1;
    if v_depth > 128 then
      raise exception '% nests deeper than 128 levels of arrays and objects', p_what
        using errcode = 'DU011',
              hint = 'Flatten the value: clients decode JSON recursively.';
    end if;
    v_shape := pg_catalog.regexp_replace(v_shape, '\[\]|\{\}', '', 'g');
  end loop;
end
$$;
comment on function durable.check_payload(jsonb, text) is
  'Raises DU008 when p_value is larger than durable.settings.max_payload_bytes, DU011 when it '
  'nests deeper than 128 levels of arrays and objects (clients decode JSON recursively; a value '
  'of 1 KiB or less cannot nest deeper, so it is not looked at). Internal.';

create or replace function durable.backoff(p_attempt integer, p_base interval, p_max interval)
returns interval
language sql
volatile
set search_path = pg_catalog, pg_temp
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
set search_path = pg_catalog, pg_temp
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

create or replace function durable.uuidv7s(p_count integer)
returns table (n bigint, id uuid)
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
declare
  -- 60 bits of time: the Unix time in milliseconds (48 bits), then the fraction of the
  -- millisecond in 1/4096 (12 bits), as PostgreSQL 18's uuidv7() fills rand_a (RFC 9562
  -- section 6.2, method 3). The epoch in seconds as double precision resolves under a
  -- microsecond until 2242.
  v_t bigint := pg_catalog.floor(
                  pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 4096000)::bigint;
  v_last text := pg_catalog.current_setting('durable.uuidv7_last', true);
  -- a shard's logical shards (durable.shard_config, sharding.sql): null when not a shard
  v_logical integer[] := (select c.logical from durable.shard_config c where c.one);
begin
  if p_count is null or p_count < 1 then
    return;
  end if;
  -- strictly increasing within the session: when the clock has not passed the last value
  -- given out (a call in the same 1/4096 ms, a large batch just before, a clock stepped back),
  -- the ids go on from the last value plus one. The last value lives in a custom setting; one
  -- that is not ours (not digits, or over an hour ahead of the clock) is ignored.
  if v_last ~ '^[0-9]{1,18}$' then
    if v_last::bigint >= v_t and v_last::bigint < v_t + 14745600000 then
      v_t := v_last::bigint + 1;
    end if;
  end if;
  perform pg_catalog.set_config('durable.uuidv7_last', (v_t + p_count - 1)::text, false);
  -- bytes 0-7: the 48-bit milliseconds, version 7, the 12-bit fraction; bytes 8-15 from
  -- gen_random_uuid(): the RFC variant (binary 10) and 62 random bits; on a shard the last
  -- byte is then one of its logical shards (picked by that random byte), so that
  -- durable.shard_key routes the id back to this shard
  return query
  select i::bigint,
         pg_catalog.encode(
           case when v_logical is null then u.b
                else pg_catalog.set_byte(u.b, 15,
                       v_logical[1 + pg_catalog.get_byte(u.b, 15) % pg_catalog.cardinality(v_logical)])
           end,
           'hex')::uuid
    from pg_catalog.generate_series(1, p_count) i
   cross join lateral (
     select pg_catalog.overlay(pg_catalog.uuid_send(pg_catalog.gen_random_uuid()),
              pg_catalog.int8send((((v_t + i - 1) >> 12) << 16) | 28672 | ((v_t + i - 1) & 4095)),
              1, 8) as b) u;
end
$$;
comment on function durable.uuidv7s(integer) is
  'p_count new UUIDs of version 7 (RFC 9562 section 5.7), numbered n = 1..p_count in '
  'increasing order: the Unix time in milliseconds (48 bits, from clock_timestamp()), the '
  'version (7), 12 bits of sub-millisecond time (1/4096 ms), the variant (binary 10) and 62 '
  'random bits, so ids made later sort later and new rows go to the right edge of the id '
  'indexes. Strictly increasing within a session: when the clock has not passed the last value '
  'given out (kept in the setting durable.uuidv7_last), the ids go on from it plus one. No rows '
  'for a p_count null or under 1. On a shard (durable.shard_config) the last byte is one of '
  'the shard''s logical shards, so durable.shard_key routes the ids to it (54 random bits '
  'left). The ids enqueue_batch generates. Internal.';

create or replace function durable.uuidv7()
returns uuid
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
  select u.id from durable.uuidv7s(1) u
$$;
comment on function durable.uuidv7() is
  'One new UUID of version 7, as durable.uuidv7s(1) (RFC 9562 section 5.7; time-ordered, '
  'strictly increasing within a session). The ids enqueue and fork generate. Internal.';

commit;
