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

-- the v0.2.0 signatures (p_max_lost_leases) go; the v0.1.0 ones come back below
drop function durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval, integer, interval, text, text, text, text);
drop function durable.check_keys(text, text, text);
drop function durable.dedup_refusal(text, text);
drop function durable.insert_batch(jsonb, timestamptz);
drop function durable.check_enqueue(text, jsonb, text, text, timestamptz, interval, integer, interval, interval, integer, interval);
drop function durable.parse_batch(jsonb);

create or replace function durable.check_enqueue(
  p_name text,
  p_input jsonb,
  p_queue text,
  p_workflow_id text,
  p_run_at timestamptz,
  p_delay interval,
  p_max_attempts integer,
  p_backoff_base interval,
  p_backoff_max interval
)
returns void
language plpgsql
set search_path = ''
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
  perform durable.check_retry_policy(p_max_attempts, p_backoff_base, p_backoff_max);
  perform durable.check_payload(p_input, 'input');
end
$$;
comment on function durable.check_enqueue(text, jsonb, text, text, timestamptz, interval, integer, interval, interval) is
  'The argument checks of durable.enqueue and durable.enqueue_batch: raises DU004, DU008, DU010 '
  'or DU011 on bad input. Internal.';

create or replace function durable.enqueue(
  p_name text,
  p_input jsonb default 'null',
  p_queue text default 'default',
  p_workflow_id text default null,
  p_priority integer default 0,
  p_run_at timestamptz default null,
  p_delay interval default null,
  p_max_attempts integer default 3,
  p_backoff_base interval default interval '1 second',
  p_backoff_max interval default interval '1 hour'
)
returns table (workflow_id text, created boolean)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := durable.now();
  v_id text := coalesce(p_workflow_id, pg_catalog.gen_random_uuid()::text);
  v_existing text;
begin
  perform durable.check_enqueue(p_name, p_input, p_queue, p_workflow_id, p_run_at, p_delay,
                                p_max_attempts, p_backoff_base, p_backoff_max);
  insert into durable.workflows as w
         (id, name, queue, priority, run_at, max_attempts, backoff_base, backoff_max, input,
          created_at)
  values (v_id, p_name, p_queue, coalesce(p_priority, 0),
          coalesce(p_run_at, v_now + coalesce(p_delay, interval '0')), p_max_attempts,
          p_backoff_base, p_backoff_max, coalesce(p_input, 'null'), v_now)
  on conflict (id) do nothing;
  if found then
    return query select v_id, true;
    return;
  end if;
  select w.name into v_existing from durable.workflows w where w.id = v_id;
  if v_existing <> p_name then
    raise exception 'workflow id % is already used by a workflow named %', v_id, v_existing
      using errcode = 'DU006', hint = 'Use another id, or the same name to get the existing run.';
  end if;
  return query select v_id, false;
end
$$;
comment on function durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval) is
  'Starts workflow p_name with p_input on p_queue, runnable at p_run_at or after p_delay (now by '
  'default); higher p_priority is claimed first. With p_workflow_id it is idempotent: the same '
  'id again returns created = false and writes nothing. A failed attempt is retried up to '
  'p_max_attempts in all, after durable.backoff(attempt, p_backoff_base, p_backoff_max). '
  'Errors: DU004 unknown queue, DU006 id used by another name, DU008 input too large, '
  'DU010 missing name, DU011 bad number.';

create or replace function durable.parse_batch(p_workflows jsonb)
returns table (
  n bigint, id text, name text, input jsonb, queue text, workflow_id text, priority integer,
  run_at timestamptz, delay interval, max_attempts integer, backoff_base interval,
  backoff_max interval
)
language sql
volatile
set search_path = ''
as $$
  select e.n, coalesce(r.workflow_id, pg_catalog.gen_random_uuid()::text), r.name,
         coalesce(r.input, 'null'), coalesce(r.queue, 'default'), r.workflow_id,
         coalesce(r.priority, 0), r.run_at, r.delay, coalesce(r.max_attempts, 3),
         coalesce(r.backoff_base, interval '1 second'), coalesce(r.backoff_max, interval '1 hour')
    from pg_catalog.jsonb_array_elements(p_workflows) with ordinality as e(item, n),
         pg_catalog.jsonb_to_record(e.item) as r(name text, input jsonb, queue text,
           workflow_id text, priority integer, run_at timestamptz, delay interval,
           max_attempts integer, backoff_base interval, backoff_max interval)
$$;
comment on function durable.parse_batch(jsonb) is
  'The rows of an enqueue_batch argument with defaults filled in. Internal.';

create or replace function durable.enqueue_batch(p_workflows jsonb)
returns table (workflow_id text, created boolean)
language plpgsql
security definer
set search_path = ''
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
                         'max_attempts', 'backoff_base', 'backoff_max']) <> '{}'::jsonb
   order by e.n
   limit 1;
  if found then
    raise exception 'item % of the batch is not an object with known keys: %', v_bad.n,
        left(v_bad.item::text, 200)
      using errcode = 'DU012',
            hint = 'Keys: name, input, queue, workflow_id, priority, run_at, delay, '
                   'max_attempts, backoff_base, backoff_max.';
  end if;

  perform durable.check_enqueue(b.name, b.input, b.queue, b.workflow_id, b.run_at, b.delay,
                                b.max_attempts, b.backoff_base, b.backoff_max)
     from durable.parse_batch(p_workflows) b
    order by b.n;

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

  return query
  with b as materialized (
    select * from durable.parse_batch(p_workflows)
  ),
  inserted as (
    insert into durable.workflows as w
           (id, name, queue, priority, run_at, max_attempts, backoff_base, backoff_max, input,
            created_at)
    select b.id, b.name, b.queue, b.priority, coalesce(b.run_at, v_now + coalesce(b.delay, interval '0')),
           b.max_attempts, b.backoff_base, b.backoff_max, b.input, v_now
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
comment on function durable.enqueue_batch(jsonb) is
  'Enqueues a JSON array of workflows in one call and one statement: each item is an object '
  'with the keys of durable.enqueue (name, input, queue, workflow_id, priority, run_at, delay, '
  'max_attempts, backoff_base, backoff_max). Returns one row per item, in order. Every item is '
  'checked before anything is written. Errors: those of durable.enqueue, and DU012 when the '
  'batch is not an array of objects with known keys.';

-- (revert/privileges.sql, which ran before this, could not grant a function that did not exist)
grant execute on function
  durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval)
  to durable_client;

commit;
