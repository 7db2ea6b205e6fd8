-- enqueue: start workflows, one or a batch per call, inside the caller's transaction if it has
-- one (the workflow then exists only if that transaction commits).
--
-- A caller-supplied workflow id makes enqueue idempotent: the same id again returns the
-- existing workflow (created = false) and writes nothing; reusing an id for a workflow of
-- another name is refused (DU006). Every argument is checked before anything is written.
--
-- Locks: the new workflow rows; the queue row for key share (foreign key).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

-- v0.2.0 adds p_max_lost_leases and p_timeout: the v0.1.0 signatures go (privileges grants the new ones)
drop function durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval);
drop function durable.check_enqueue(text, jsonb, text, text, timestamptz, interval, integer, interval, interval);

create function durable.check_enqueue(
  p_name text,
  p_input jsonb,
  p_queue text,
  p_workflow_id text,
  p_run_at timestamptz,
  p_delay interval,
  p_max_attempts integer,
  p_backoff_base interval,
  p_backoff_max interval,
  p_max_lost_leases integer,
  p_timeout interval
)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_name is null or p_name = '' then
    raise exception 'workflow name must not be null or empty'
      using errcode = 'DU010', hint = 'Pass the name your workers register the workflow under.';
  end if;
  if length(p_name) > 200 then
    raise exception 'workflow name is % characters long, the limit is 200', length(p_name)
      using errcode = 'DU011';
  end if;
  if p_workflow_id = '' then
    raise exception 'workflow id must not be empty'
      using errcode = 'DU010', hint = 'Pass null to have an id generated.';
  end if;
  if length(p_workflow_id) > 200 then
    raise exception 'workflow id is % characters long, the limit is 200', length(p_workflow_id)
      using errcode = 'DU011';
  end if;
  if p_queue is null then
    raise exception 'queue must not be null'
      using errcode = 'DU010', hint = 'Use ''default'' or a queue made with durable.set_queue.';
  end if;
  if not exists (select 1 from durable.queues q where q.name = p_queue) then
    raise exception 'unknown queue %', p_queue
      using errcode = 'DU004', hint = 'Create it first with select durable.set_queue(...).';
  end if;
  if p_delay < interval '0' then
    raise exception 'delay must not be negative, got %', p_delay
      using errcode = 'DU011', hint = 'Pass a delay of zero or more, or run_at.';
  end if;
  if p_delay is not null and p_run_at is not null then
    raise exception 'pass run_at or delay, not both'
      using errcode = 'DU011';
  end if;
  if p_max_lost_leases not between 1 and 1000 then
    raise exception 'max_lost_leases must be between 1 and 1000, got %', p_max_lost_leases
      using errcode = 'DU011',
            hint = 'Leave it null for durable.settings.max_lost_leases (default 3).';
  end if;
  if p_timeout <= interval '0' or p_timeout > interval '100 years' then  -- (infinity too, 17+)
    raise exception 'timeout must be more than 0 and at most 100 years, got %', p_timeout
      using errcode = 'DU011', hint = 'Leave it null for no deadline.';
  end if;
  perform durable.check_retry_policy(p_max_attempts, p_backoff_base, p_backoff_max);
  perform durable.check_payload(p_input, 'input');
end
$$;
comment on function durable.check_enqueue(text, jsonb, text, text, timestamptz, interval, integer, interval, interval, integer, interval) is
  'The argument checks of durable.enqueue and durable.enqueue_batch: raises DU004, DU008, DU010 '
  'or DU011 on bad input. Internal.';

create or replace function durable.check_keys(
  p_concurrency_key text, p_dedup_key text, p_if_exists text
)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_concurrency_key = '' or length(p_concurrency_key) > 200 then
    raise exception 'concurrency key must be 1 to 200 characters, or null'
      using errcode = 'DU011';
  end if;
  if p_dedup_key = '' or length(p_dedup_key) > 200 then
    raise exception 'deduplication key must be 1 to 200 characters, or null'
      using errcode = 'DU011';
  end if;
  if p_if_exists is null or p_if_exists not in ('return', 'refuse_different_input') then
    raise exception 'if_exists must be return or refuse_different_input, got %',
        coalesce(p_if_exists, 'null')
      using errcode = 'DU011',
            hint = 'return: a reused id gives the existing run; refuse_different_input: DU018 '
                   'when the existing run has another input.';
  end if;
end
$$;
comment on function durable.check_keys(text, text, text) is
  'Raises DU011 on a bad concurrency key, deduplication key or if_exists. Internal.';

create or replace function durable.dedup_refusal(p_queue text, p_dedup_key text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_id text;
begin
  select w.id into v_id from durable.workflows w
   where w.queue = p_queue and w.dedup_key = p_dedup_key and w.status = 'pending'
     and w.started_at is null;
  if v_id is null then
    raise exception 'deduplication key % is given twice for queue % in one batch', p_dedup_key,
        p_queue
      using errcode = 'DU019', hint = 'Give each deduplication key once.';
  end if;
  raise exception 'workflow % with deduplication key % is enqueued in queue % and not started yet',
      v_id, p_dedup_key, p_queue
    using errcode = 'DU019',
          hint = 'Wait until it has started, or cancel it, before enqueuing another with that key.';
end
$$;
comment on function durable.dedup_refusal(text, text) is
  'Raises DU019 naming the pending workflow of queue p_queue with deduplication key '
  'p_dedup_key. Internal.';

create function durable.enqueue(
  p_name text,
  p_input jsonb default 'null',
  p_queue text default null,
  p_workflow_id text default null,
  p_priority integer default 0,
  p_run_at timestamptz default null,
  p_delay interval default null,
  p_max_attempts integer default null,
  p_backoff_base interval default null,
  p_backoff_max interval default null,
  p_max_lost_leases integer default null,
  p_timeout interval default null,
  p_concurrency_key text default null,
  p_dedup_key text default null,
  p_if_exists text default 'return',
  p_trace_context text default null
)
returns table (workflow_id text, created boolean)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_id text := coalesce(p_workflow_id, durable.uuidv7()::text);
  v_existing record;
  v_queue text := p_queue;
  v_max_attempts integer := p_max_attempts;
  v_backoff_base interval := p_backoff_base;
  v_backoff_max interval := p_backoff_max;
  v_max_lost integer := p_max_lost_leases;
  v_timeout interval := p_timeout;
  v_run_at timestamptz := coalesce(p_run_at, v_now + coalesce(p_delay, interval '0'));
begin
  -- what the caller left out: the defaults the workflow's code declared (durable.register),
  -- else the built-in ones
  if p_queue is null or p_max_attempts is null or p_backoff_base is null
     or p_backoff_max is null or p_max_lost_leases is null or p_timeout is null then
    select coalesce(p_queue, t.queue, 'default'), coalesce(p_max_attempts, t.max_attempts, 3),
           coalesce(p_backoff_base, t.backoff_base, interval '1 second'),
           coalesce(p_backoff_max, t.backoff_max, interval '1 hour'),
           coalesce(p_max_lost_leases, t.max_lost_leases), coalesce(p_timeout, t.timeout)
      into v_queue, v_max_attempts, v_backoff_base, v_backoff_max, v_max_lost, v_timeout
      from (select 1) one
      left join durable.workflow_types t on t.name = p_name;
  end if;
  perform durable.check_enqueue(p_name, p_input, v_queue, p_workflow_id, p_run_at, p_delay,
                                v_max_attempts, v_backoff_base, v_backoff_max, v_max_lost,
                                v_timeout);
  if p_concurrency_key is not null or p_dedup_key is not null or p_if_exists <> 'return'
     or p_if_exists is null then
    perform durable.check_keys(p_concurrency_key, p_dedup_key, p_if_exists);
  end if;
  if p_trace_context is not null then
    perform durable.check_trace_context(p_trace_context);
  end if;
  if p_dedup_key is null then
    insert into durable.workflows as w
           (id, name, queue, priority, run_at, max_attempts, backoff_base, backoff_max,
            max_lost_leases, input, created_at, deadline, concurrency_key, trace_context)
    values (v_id, p_name, v_queue, coalesce(p_priority, 0), v_run_at, v_max_attempts,
            v_backoff_base, v_backoff_max, v_max_lost, coalesce(p_input, 'null'), v_now,
            v_run_at + v_timeout, p_concurrency_key, p_trace_context)
    on conflict (id) do nothing;
  else
    begin
      insert into durable.workflows as w
             (id, name, queue, priority, run_at, max_attempts, backoff_base, backoff_max,
              max_lost_leases, input, created_at, deadline, concurrency_key, dedup_key,
              trace_context)
      values (v_id, p_name, v_queue, coalesce(p_priority, 0), v_run_at, v_max_attempts,
              v_backoff_base, v_backoff_max, v_max_lost, coalesce(p_input, 'null'), v_now,
              v_run_at + v_timeout, p_concurrency_key, p_dedup_key, p_trace_context)
      on conflict (id) do nothing;
    exception when unique_violation then
      perform durable.dedup_refusal(v_queue, p_dedup_key);  -- raises DU019
    end;
  end if;
  if found then
    return query select v_id, true;
    return;
  end if;
  select w.name, w.input into v_existing from durable.workflows w where w.id = v_id;
  if v_existing.name <> p_name then
    raise exception 'workflow id % is already used by a workflow named %', v_id, v_existing.name
      using errcode = 'DU006', hint = 'Use another id, or the same name to get the existing run.';
  end if;
  if p_if_exists = 'refuse_different_input'
     and v_existing.input is distinct from coalesce(p_input, 'null') then
    raise exception 'workflow id % is already used by a run of % with another input', v_id,
        p_name
      using errcode = 'DU018',
            hint = 'Use another id for another input, or the default p_if_exists = return to '
                   'get the existing run.';
  end if;
  return query select v_id, false;
end
$$;
comment on function durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval, integer, interval, text, text, text, text) is
  'Starts workflow p_name with p_input on p_queue, runnable at p_run_at or after p_delay (now by '
  'default); higher p_priority is claimed first, then the earlier run_at, then the earlier '
  'enqueued. With p_workflow_id it is idempotent: the same id again returns created = false and '
  'writes nothing. A failed attempt is retried up to p_max_attempts in all, after '
  'durable.backoff(attempt, p_backoff_base, p_backoff_max). A workflow whose worker is lost '
  'p_max_lost_leases times (1..1000; null: durable.settings.max_lost_leases) fails. With '
  'p_timeout (more than 0, at most 100 years) the workflow has a deadline, run_at + p_timeout: '
  'when it passes, the next claim or heartbeat of any worker cancels the workflow (error type '
  'DeadlineExceeded) and its children, and its worker''s next call gets DU002. '
  'p_concurrency_key (1..200 characters) is the key its queue''s key_concurrency limits '
  '(durable.set_queue). p_dedup_key (1..200 characters): until its first claim, another '
  'enqueue of that key in that queue is refused with DU019 (as DBOS''s deduplication id). p_if_exists: return (default: a reused id '
  'gives the existing run) or refuse_different_input (DU018 when the existing run has another '
  'input). p_trace_context: the W3C traceparent of the caller''s trace (DU011 when malformed: '
  'durable.check_trace_context), handed to the workers by the claim so that their spans '
  'continue that trace; a reused id keeps the first run''s. Arguments '
  'left null take the defaults the workflow''s workers registered (durable.workflow_types), else '
  'queue default, 3 attempts, backoff 1 second to 1 hour. '
  'Errors: DU004 unknown queue, DU006 id used by another name, DU008 input too large, '
  'DU010 missing name, DU011 bad number, key or trace context, DU018, DU019.';

-- v0.2.0: max_lost_leases, and the registered defaults (durable.workflow_types)
drop function durable.parse_batch(jsonb);
create function durable.parse_batch(p_workflows jsonb)
returns table (
  n bigint, id text, name text, input jsonb, queue text, workflow_id text, priority integer,
  run_at timestamptz, delay interval, max_attempts integer, backoff_base interval,
  backoff_max interval, max_lost_leases integer, timeout interval, concurrency_key text,
  dedup_key text, if_exists text, trace_context text
)
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
  select e.n, r.workflow_id, r.name,  -- id: generated by insert_batch when null
         coalesce(r.input, 'null'), coalesce(r.queue, t.queue, 'default'), r.workflow_id,
         coalesce(r.priority, 0), r.run_at, r.delay, coalesce(r.max_attempts, t.max_attempts, 3),
         coalesce(r.backoff_base, t.backoff_base, interval '1 second'),
         coalesce(r.backoff_max, t.backoff_max, interval '1 hour'),
         coalesce(r.max_lost_leases, t.max_lost_leases), coalesce(r.timeout, t.timeout),
         r.concurrency_key, r.dedup_key, coalesce(r.if_exists, 'return'), r.trace_context
    from pg_catalog.jsonb_array_elements(p_workflows) with ordinality as e(item, n)
   cross join pg_catalog.jsonb_to_record(e.item) as r(name text, input jsonb, queue text,
           workflow_id text, priority integer, run_at timestamptz, delay interval,
           max_attempts integer, backoff_base interval, backoff_max interval,
           max_lost_leases integer, timeout interval, concurrency_key text,
           dedup_key text, if_exists text, trace_context text)
    left join durable.workflow_types t on t.name = r.name
$$;
comment on function durable.parse_batch(jsonb) is
  'The rows of an enqueue_batch argument with defaults filled in (those the workflow''s workers '
  'registered, else the built-in ones); id is the given workflow_id, null where insert_batch '
  'generates one. Internal.';

create or replace function durable.enqueue_batch(p_workflows jsonb)
returns table (workflow_id text, created boolean)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_bad record;
begin
  if p_workflows is null or pg_catalog.jsonb_typeof(p_workflows) <> 'array' then
    raise exception 'enqueue_batch takes a JSON array of workflow objects, got %',
        coalesce(pg_catalog.jsonb_typeof(p_workflows), 'null')
      using errcode = 'DU012', hint = 'Pass [{"name": "...", "input": {...}}, ...].';
  end if;

  select e.n, e.item into v_bad
    from pg_catalog.jsonb_array_elements(p_workflows) with ordinality as e(item, n)
   where pg_catalog.jsonb_typeof(e.item) <> 'object'
      or (e.item - array['name', 'input', 'queue', 'workflow_id', 'priority', 'run_at', 'delay',
                         'max_attempts', 'backoff_base', 'backoff_max', 'max_lost_leases',
                         'timeout', 'concurrency_key', 'dedup_key', 'if_exists',
                         'trace_context'])
         <> '{}'::jsonb
   order by e.n
   limit 1;
  if found then
    raise exception 'item % of the batch is not an object with known keys: %', v_bad.n,
        left(v_bad.item::text, 200)
      using errcode = 'DU012',
            hint = 'Keys: name, input, queue, workflow_id, priority, run_at, delay, '
                   'max_attempts, backoff_base, backoff_max, max_lost_leases, timeout, '
                   'concurrency_key, dedup_key, if_exists, trace_context.';
  end if;

  perform durable.check_enqueue(b.name, b.input, b.queue, b.workflow_id, b.run_at, b.delay,
                                b.max_attempts, b.backoff_base, b.backoff_max, b.max_lost_leases,
                                b.timeout),
          durable.check_keys(b.concurrency_key, b.dedup_key, b.if_exists),
          durable.check_trace_context(b.trace_context)
     from durable.parse_batch(p_workflows) b
    order by b.n;
  select b.workflow_id as id into v_bad
    from durable.parse_batch(p_workflows) b
    join durable.workflows w on w.id = b.workflow_id
   where b.if_exists = 'refuse_different_input' and w.name = b.name and w.input <> b.input
  union all
  -- an id given twice in the batch: the first item creates it, the next one reuses it
  select b.workflow_id
    from durable.parse_batch(p_workflows) b
    join durable.parse_batch(p_workflows) f on f.workflow_id = b.workflow_id and f.n < b.n
   where b.if_exists = 'refuse_different_input' and f.input <> b.input
   limit 1;
  if found then
    raise exception 'workflow id % is already used by a run with another input', v_bad.id
      using errcode = 'DU018',
            hint = 'Use another id for another input, or if_exists return to get the existing '
                   'run.';
  end if;

  select b.workflow_id as id, b.name, w.name as existing into v_bad
    from durable.parse_batch(p_workflows) b
    join durable.workflows w on w.id = b.workflow_id
   where w.name <> b.name
   limit 1;
  if found then
    raise exception 'workflow id % is already used by a workflow named %', v_bad.id, v_bad.existing
      using errcode = 'DU006', hint = 'Use another id, or the same name to get the existing run.';
  end if;
  select b.workflow_id as id into v_bad
    from durable.parse_batch(p_workflows) b
   where b.workflow_id is not null
   group by b.workflow_id
  having count(distinct b.name) > 1
   limit 1;
  if found then
    raise exception 'workflow id % appears in the batch with different names', v_bad.id
      using errcode = 'DU006';
  end if;

  if not p_workflows @? '$[*].dedup_key' then
    return query select * from durable.insert_batch(p_workflows, v_now);
    return;
  end if;
  begin
    return query select * from durable.insert_batch(p_workflows, v_now);
  exception when unique_violation then
    -- the only unique index an enqueue meets but the id's (on conflict): workflows_dedup
    select b.queue, b.dedup_key into v_bad
      from durable.parse_batch(p_workflows) b
     where b.dedup_key is not null
       and (exists (select 1 from durable.workflows w
                     where w.queue = b.queue and w.dedup_key = b.dedup_key
                       and w.status = 'pending' and w.started_at is null)
            or (select count(*) from durable.parse_batch(p_workflows) c
                 where c.queue = b.queue and c.dedup_key = b.dedup_key) > 1)
     limit 1;
    perform durable.dedup_refusal(v_bad.queue, v_bad.dedup_key);
  end;
end
$$;

create or replace function durable.insert_batch(p_workflows jsonb, p_now timestamptz)
returns table (workflow_id text, created boolean)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := p_now;
begin
  return query
  with b as materialized (
    -- seq in the batch's order (first in, first out), taken before the insert sorts by id
    -- (volatile output expressions are computed after the order by); generated ids are
    -- time-ordered and numbered as the items, so they sort as the batch too
    select p.n, coalesce(p.workflow_id, g.id::text) as id, p.name, p.input, p.queue,
           p.priority, p.run_at, p.delay, p.max_attempts, p.backoff_base, p.backoff_max,
           p.max_lost_leases, p.timeout, p.concurrency_key, p.dedup_key, p.trace_context,
           pg_catalog.nextval('durable.workflow_seq') as seq
      from durable.parse_batch(p_workflows) p
      join durable.uuidv7s(pg_catalog.jsonb_array_length(p_workflows)) g on g.n = p.n
     order by p.n
  ),
  inserted as (
    insert into durable.workflows as w
           (id, name, queue, priority, run_at, max_attempts, backoff_base, backoff_max,
            max_lost_leases, input, created_at, seq, deadline, concurrency_key, dedup_key,
            trace_context)
    select b.id, b.name, b.queue, b.priority, coalesce(b.run_at, v_now + coalesce(b.delay, interval '0')),
           b.max_attempts, b.backoff_base, b.backoff_max, b.max_lost_leases, b.input, v_now, b.seq,
           coalesce(b.run_at, v_now + coalesce(b.delay, interval '0')) + b.timeout,
           b.concurrency_key, b.dedup_key, b.trace_context
      from b
     order by b.id
    on conflict (id) do nothing
    returning w.id
  )
  select b.id,
         -- the first occurrence of an id in the batch is the one that created it
         (i.id is not null and b.n = min(b.n) over (partition by b.id))
    from b
    left join inserted i on i.id = b.id
   order by b.n;
end
$$;
comment on function durable.insert_batch(jsonb, timestamptz) is
  'The insert of durable.enqueue_batch, whose checks have passed. Internal.';
comment on function durable.enqueue_batch(jsonb) is
  'Enqueues a JSON array of workflows in one call and one statement: each item is an object '
  'with the keys of durable.enqueue (name, input, queue, workflow_id, priority, run_at, delay, '
  'max_attempts, backoff_base, backoff_max, max_lost_leases, timeout, concurrency_key, '
  'dedup_key, if_exists, trace_context). Returns one row per item, in '
  'order; items of equal priority and run time are claimed in the batch''s order. Every item is '
  'checked before anything is written; a deduplication key pending already, or twice in the '
  'batch, refuses it whole (DU019). Errors: those of durable.enqueue, and DU012 when the '
  'batch is not an array of objects with known keys.';

commit;
