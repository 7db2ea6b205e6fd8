-- listing (issue 12): list and search workflow runs from any language, newest first, a page at a
-- time, with the filters in SQL: durable.list_runs (rows of durable.runs, payloads included, and
-- a JSON containment filter on the input) and durable.list_runs_meta (rows of durable.runs_meta,
-- for the observer role: no payloads, and no input filter, which would reveal inputs one guess
-- at a time). The checks are one internal function, durable.check_list.
--
-- Paging is by key, not OFFSET: a page ends with a run, and the next page starts after it in
-- the order (created_at desc, id desc): p_before_created_at and p_before_id (or p_before_id
-- alone: its created_at is looked up). A page costs the same however deep it is, and runs
-- enqueued while a client pages (newer: created_at is the enqueue's statement time) never shift
-- the pages after the first, so no run is returned twice or skipped.
--
-- The statement is built from the filters given and run with EXECUTE ... USING (the values are
-- parameters, never text of the statement): a list with optional filters has no one good plan,
-- and a one-shot plan made with the values picks the index that serves them (workflows_created
-- for the order, workflows_finished and workflows_failed for statuses and finish times,
-- workflows_children for a parent, workflows_input for the input filter when it exists).
--
-- The input filter (input @> p_input, jsonb containment) is served by a GIN index on
-- workflows.input (jsonb_path_ops), which every enqueue maintains: it is not built by default
-- (bench/list_bench.py measures its cost on enqueues); durable.index_inputs(true) builds it and
-- durable.index_inputs(false) drops it. Without it the filter still works, by scanning.
--
-- Lock order: list_runs and list_runs_meta read only (no row locks). index_inputs takes
-- workflows' SHARE lock while it builds the index (enqueues, claims and checkpoints of other
-- sessions wait for it), ACCESS EXCLUSIVE for the moment of a drop.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create function durable.check_list(
  p_status text[],
  p_queue text,
  p_created_after timestamptz,
  p_created_before timestamptz,
  p_finished_after timestamptz,
  p_finished_before timestamptz,
  p_before_created_at timestamptz,
  p_before_id text,
  p_limit integer
)
returns timestamptz
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_statuses constant text[] := '{pending,running,waiting,succeeded,failed,cancelled}';
  v_before timestamptz := p_before_created_at;
begin
  if p_limit is null then
    raise exception 'limit must not be null'
      using errcode = 'DU010', hint = 'Pass p_limit, 1 to 1000 runs per page (default 50).';
  end if;
  if p_limit < 1 or p_limit > 1000 then
    raise exception 'limit must be between 1 and 1000, got %', p_limit
      using errcode = 'DU011',
            hint = 'Page through more with p_before_id => the last id of the page before.';
  end if;
  perform durable.check_filters(p_status, v_statuses, p_queue, p_created_after,
                                p_created_before, p_finished_after, p_finished_before);
  if p_before_created_at is not null and p_before_id is null then
    raise exception 'p_before_created_at needs p_before_id: a page starts after one run'
      using errcode = 'DU010',
            hint = 'Pass both from the last row of the page before, or p_before_id alone.';
  end if;
  if p_before_id is not null and v_before is null then
    select w.created_at into v_before from durable.workflows w where w.id = p_before_id;
    if not found then
      raise exception 'unknown workflow %: the page cannot start after it', p_before_id
        using errcode = 'DU003',
              hint = 'It may have been purged: pass p_before_created_at with it as well.';
    end if;
  end if;
  return v_before;
end
$$;
comment on function durable.check_list(text[], text, timestamptz, timestamptz, timestamptz,
                                       timestamptz, timestamptz, text, integer) is
  'The argument checks of list_runs and list_runs_meta; returns the created_at the page starts '
  'before (p_before_created_at, or the created_at of p_before_id). DU010 null limit, '
  'p_before_created_at without p_before_id; DU011 limit outside 1..1000, a status not in '
  'pending, running, waiting, succeeded, failed, cancelled (or an empty array), an empty time '
  'range; DU004 unknown queue; DU003 unknown p_before_id. Internal.';

create function durable.list_runs_where(p_filters boolean[])
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  -- the filters given, in the order of the parameters $1.. of list_runs' EXECUTE
  select coalesce(' where ' || pg_catalog.string_agg(f.clause, ' and ' order by f.n), '')
    from unnest(p_filters, array[
           'r.status = any ($1)', 'r.queue = $2', 'r.name = $3', 'r.created_at >= $4',
           'r.created_at < $5', 'r.finished_at >= $6', 'r.finished_at < $7',
           'r.parent_id = $8', '(r.created_at, r.id) < ($9, $10)', 'r.input @> $11'])
           with ordinality f(given, clause, n)
   where f.given
$$;
comment on function durable.list_runs_where(boolean[]) is
  'The where clause of list_runs and list_runs_meta for the filters given (one flag per '
  'filter, in the order of their parameters). Internal.';

create function durable.list_runs(
  p_status text[] default null,
  p_queue text default null,
  p_name text default null,
  p_created_after timestamptz default null,
  p_created_before timestamptz default null,
  p_finished_after timestamptz default null,
  p_finished_before timestamptz default null,
  p_input jsonb default null,
  p_parent_id text default null,
  p_before_id text default null,
  p_before_created_at timestamptz default null,
  p_limit integer default 50
)
returns setof durable.runs
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_before timestamptz := durable.check_list(p_status, p_queue, p_created_after,
    p_created_before, p_finished_after, p_finished_before, p_before_created_at, p_before_id,
    p_limit);
begin
  return query execute
    'select r.* from durable.runs r'
    || durable.list_runs_where(array[p_status is not null, p_queue is not null,
         p_name is not null, p_created_after is not null, p_created_before is not null,
         p_finished_after is not null, p_finished_before is not null, p_parent_id is not null,
         p_before_id is not null, p_input is not null])
    || ' order by r.created_at desc, r.id desc limit $12'
    using p_status, p_queue, p_name, p_created_after, p_created_before, p_finished_after,
          p_finished_before, p_parent_id, v_before, p_before_id, p_input, p_limit;
end
$$;
comment on function durable.list_runs(text[], text, text, timestamptz, timestamptz,
                                      timestamptz, timestamptz, jsonb, text, text, timestamptz,
                                      integer) is
  'Rows of durable.runs, newest first (created_at desc, id desc), at most p_limit (1..1000, '
  'default 50), matching every filter given (null: no filter): p_status (an array of '
  'statuses), p_queue, p_name, created_at in [p_created_after, p_created_before), finished_at '
  'in [p_finished_after, p_finished_before) (unfinished runs have none), p_input (the input '
  'contains it, jsonb @>: ''[{"customer": "c-1"}]'' matches runs whose first argument has '
  'that key and value; served by an index once durable.index_inputs(true) built it), '
  'p_parent_id (the children of that run). Paging by key: the next page is the one after the '
  'last row, p_before_id => its id (and p_before_created_at => its created_at, which keeps '
  'working once it is purged); runs enqueued meanwhile never shift it. The observer role uses '
  'durable.list_runs_meta. Errors: DU010 null limit, p_before_created_at without p_before_id; '
  'DU011 limit outside 1..1000, a status not in pending, running, waiting, succeeded, failed, '
  'cancelled (or an empty array, a null in it), an empty time range; DU004 unknown queue; '
  'DU003 unknown p_before_id.';

create function durable.list_runs_meta(
  p_status text[] default null,
  p_queue text default null,
  p_name text default null,
  p_created_after timestamptz default null,
  p_created_before timestamptz default null,
  p_finished_after timestamptz default null,
  p_finished_before timestamptz default null,
  p_parent_id text default null,
  p_before_id text default null,
  p_before_created_at timestamptz default null,
  p_limit integer default 50
)
returns setof durable.runs_meta
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_before timestamptz := durable.check_list(p_status, p_queue, p_created_after,
    p_created_before, p_finished_after, p_finished_before, p_before_created_at, p_before_id,
    p_limit);
begin
  return query execute
    'select r.* from durable.runs_meta r'
    || durable.list_runs_where(array[p_status is not null, p_queue is not null,
         p_name is not null, p_created_after is not null, p_created_before is not null,
         p_finished_after is not null, p_finished_before is not null, p_parent_id is not null,
         p_before_id is not null, false])
    || ' order by r.created_at desc, r.id desc limit $12'
    using p_status, p_queue, p_name, p_created_after, p_created_before, p_finished_after,
          p_finished_before, p_parent_id, v_before, p_before_id, null::jsonb, p_limit;
end
$$;
comment on function durable.list_runs_meta(text[], text, text, timestamptz, timestamptz,
                                           timestamptz, timestamptz, text, text, timestamptz,
                                           integer) is
  'durable.list_runs without payloads, for the observer role: rows of durable.runs_meta '
  '(error_type instead of input, output and error), the same filters, order and paging, but '
  'no input filter (it would reveal inputs). Errors: those of durable.list_runs.';

create function durable.index_inputs(p_on boolean)
returns boolean
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_on is null then
    raise exception 'p_on must not be null'
      using errcode = 'DU010', hint = 'true builds the index, false drops it.';
  end if;
  if p_on and pg_catalog.to_regclass('durable.workflows_input') is null then
    create index workflows_input on durable.workflows using gin (input jsonb_path_ops);
  elsif not p_on and pg_catalog.to_regclass('durable.workflows_input') is not null then
    drop index durable.workflows_input;
  end if;
  return pg_catalog.to_regclass('durable.workflows_input') is not null;
end
$$;
comment on function durable.index_inputs(boolean) is
  'Builds (p_on true) or drops (false) the GIN index workflows_input on durable.workflows.input '
  '(jsonb_path_ops), which serves the input filter of durable.list_runs (input @> ...); '
  'returns whether it exists now. Every enqueue then maintains it (bench/list_bench.py '
  'measures the cost; README, Listing runs), so it is not built by default. The build holds '
  'workflows'' SHARE lock (writers wait) for its duration: on a large table, build it instead '
  'as the owner with create index concurrently workflows_input on durable.workflows using gin '
  '(input jsonb_path_ops). Idempotent. The owner''s (durable_admin). Errors: DU010 p_on null.';

commit;
