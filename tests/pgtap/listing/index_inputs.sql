-- durable.index_inputs(true) builds the GIN index workflows_input (jsonb_path_ops) on
-- workflows.input, idempotently; false drops it; not built by default (every enqueue would
-- maintain it); the owner's only. With the index, list_runs' input filter can use it.
begin;
select plan(8);

select hasnt_index('durable', 'workflows', 'workflows_input', 'no input index by default');
select is(durable.index_inputs(true), true, 'index_inputs(true) says it exists');
select has_index('durable', 'workflows', 'workflows_input', 'it is built');
select is(
  (select pg_get_indexdef('durable.workflows_input'::regclass)),
  'CREATE INDEX workflows_input ON durable.workflows USING gin (input jsonb_path_ops)',
  'a GIN index of the inputs, jsonb_path_ops');
select is(durable.index_inputs(true), true, 'again: nothing to do');

-- the statement list_runs builds for an input filter can use it
create function pg_temp.plan_of(p_sql text) returns setof text language plpgsql as $f$
begin
  return query execute 'explain ' || p_sql;
end
$f$;
set local enable_seqscan = off;
set local enable_indexscan = off;  -- (a GIN index is read by a bitmap scan; on a small table the
                                   -- planner may otherwise walk workflows_created backwards)
select ok(
  (select bool_or(line like '%workflows_input%')
     from pg_temp.plan_of($$ select r.* from durable.runs r where r.input @> '[{"a": 1}]'
                                  order by r.created_at desc, r.id desc limit 50 $$) line),
  'the input filter uses workflows_input');
reset enable_seqscan;

select is(durable.index_inputs(false), false, 'index_inputs(false) drops it');
select function_privs_are('durable', 'index_inputs', array['boolean'], 'durable_client',
  array[]::text[], 'a client may not build or drop it');

select * from finish();
rollback;
