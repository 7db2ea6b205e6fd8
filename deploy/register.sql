-- register: a worker says what it can run before it claims.
--
-- durable.register records on the worker's row the workflow names it has code for and the
-- version of that code (so its claims take only those, see app_versions.sql and claim.sql),
-- and upserts each workflow's declared defaults into durable.workflow_types (so that enqueue
-- from psql, the CLI or another language gets the queue and retry policy the code declares).
-- It registers or refreshes the worker like durable.heartbeat (DU010, DU011, DU015).
--
-- Lock order: the worker (durable.touch_worker), then the workflow_types rows in name order.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.register(
  p_worker text,
  p_workflows jsonb default '[]',
  p_version text default null,
  p_lease_timeout interval default null
)
returns interval
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_bad record;
  v_timeout interval;
  v_items jsonb;
begin
  if p_workflows is null or pg_catalog.jsonb_typeof(p_workflows) <> 'array' then
    raise exception 'register takes a JSON array of workflow objects, got %',
        coalesce(pg_catalog.jsonb_typeof(p_workflows), 'null')
      using errcode = 'DU012', hint = 'Pass [{"name": "...", "queue": "...", ...}, ...].';
  end if;
  select e.n, e.item into v_bad
    from pg_catalog.jsonb_array_elements(p_workflows) with ordinality as e(item, n)
   where pg_catalog.jsonb_typeof(e.item) <> 'object'
      or pg_catalog.jsonb_typeof(e.item -> 'name') is distinct from 'string'
      or (e.item - array['name', 'queue', 'max_attempts', 'backoff_base', 'backoff_max',
                         'max_lost_leases', 'timeout']) <> '{}'::jsonb
   order by e.n
   limit 1;
  if found then
    raise exception 'item % is not an object with a name and known keys: %', v_bad.n,
        left(v_bad.item::text, 200)
      using errcode = 'DU012',
            hint = 'Keys: name (required), queue, max_attempts, backoff_base, backoff_max, '
                   'max_lost_leases, timeout.';
  end if;
  if p_version = '' or length(p_version) > 200 then
    raise exception 'version must be 1 to 200 characters, or null'
      using errcode = 'DU011';
  end if;

  perform durable.touch_worker(p_worker, p_lease_timeout, v_now, true);

  -- each workflow once (the last of a name wins), with the built-in defaults for what is left
  -- out: checked as enqueue checks them, then recorded
  select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           -- a queue only when declared: a child then defaults to its parent's (waiting.sql)
           'name', r.name, 'queue', r.queue,
           'max_attempts', coalesce(r.max_attempts, 3),
           'backoff_base', coalesce(r.backoff_base, interval '1 second'),
           'backoff_max', coalesce(r.backoff_max, interval '1 hour'),
           'max_lost_leases', r.max_lost_leases, 'timeout', r.timeout) order by r.name)
    into v_items
    from (select distinct on (x.name) x.*
            from rows from (pg_catalog.jsonb_to_recordset(p_workflows) as (name text,
                   queue text, max_attempts integer, backoff_base interval,
                   backoff_max interval, max_lost_leases integer, timeout interval))
                 with ordinality as x(name, queue, max_attempts, backoff_base, backoff_max,
                                      max_lost_leases, timeout, n)
           order by x.name, x.n desc) r;
  perform durable.check_enqueue(r.name, 'null', coalesce(r.queue, 'default'), null, null, null,
                                r.max_attempts, r.backoff_base, r.backoff_max,
                                r.max_lost_leases, r.timeout)
     from pg_catalog.jsonb_to_recordset(coalesce(v_items, '[]')) as r(name text, queue text,
            max_attempts integer, backoff_base interval, backoff_max interval,
            max_lost_leases integer, timeout interval);

  insert into durable.workflow_types as t
         (name, queue, max_attempts, backoff_base, backoff_max, max_lost_leases, version, worker,
          registered_at, timeout)
  select r.name, r.queue, r.max_attempts, r.backoff_base, r.backoff_max, r.max_lost_leases,
         p_version, p_worker, v_now, r.timeout
    from pg_catalog.jsonb_to_recordset(coalesce(v_items, '[]')) as r(name text, queue text,
           max_attempts integer, backoff_base interval, backoff_max interval,
           max_lost_leases integer, timeout interval)
  on conflict (name) do update
     set queue = excluded.queue, max_attempts = excluded.max_attempts,
         backoff_base = excluded.backoff_base, backoff_max = excluded.backoff_max,
         max_lost_leases = excluded.max_lost_leases, timeout = excluded.timeout,
         version = excluded.version,
         worker = excluded.worker, registered_at = excluded.registered_at;

  update durable.workers k
     set workflow_names = array(select e.item ->> 'name'
                                  from pg_catalog.jsonb_array_elements(coalesce(v_items, '[]')) e(item)),
         version = p_version
   where k.id = p_worker
  returning k.lease_timeout into v_timeout;
  -- kept apart from the row, which a heartbeat forgets while the worker is late (workers.sql)
  insert into durable.worker_registrations as r
         (worker, login, workflow_names, version, registered_at)
  select k.id, k.login, k.workflow_names, k.version, v_now
    from durable.workers k where k.id = p_worker
  on conflict (worker) do update
     set login = excluded.login, workflow_names = excluded.workflow_names,
         version = excluded.version, registered_at = excluded.registered_at;
  return v_timeout;
end
$$;
comment on function durable.register(text, jsonb, text, interval) is
  'Registers worker p_worker (as durable.heartbeat does, with p_lease_timeout) with the '
  'workflows it has code for, p_workflows = [{"name", "queue", "max_attempts", "backoff_base", '
  '"backoff_max", "max_lost_leases", "timeout"}] (all but name optional), and the version of that code '
  '(p_version, 1..200 characters or null). From then on its claims take only those names, and '
  'only workflows of its version or of none yet (a claim pins a workflow to its claimer''s '
  'version). Each workflow''s defaults go to durable.workflow_types for enqueue. Returns the '
  'lease timeout in effect. Errors: DU004 unknown queue, DU010, DU011, DU012 malformed list, '
  'DU015 worker id of another login.';

commit;
