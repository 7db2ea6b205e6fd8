-- durable.queue_stats reads only unfinished runs: the index workflows_unfinished (queue) holds
-- the pending, running and waiting runs and matches the view's join condition, so finished
-- history is never read (the dashboard's queues page, durable queues; bench/ui_bench.py).
begin;
select plan(4);
select durable_test.pin();
select durable.set_queue('qi');

select has_index('durable', 'workflows', 'workflows_unfinished', array['queue'],
                 'index workflows_unfinished on durable.workflows (queue)');
select is((select pg_catalog.pg_get_expr(i.indpred, i.indrelid) from pg_catalog.pg_index i
            where i.indexrelid = 'durable.workflows_unfinished'::regclass),
          $$(status = ANY (ARRAY['pending'::text, 'running'::text, 'waiting'::text]))$$,
          'it holds the unfinished runs only');

select durable.enqueue('wf', p_queue => 'qi', p_workflow_id => 'u1');
select durable_test.make('u2', 'succeeded', p_queue => 'qi');
analyze durable.workflows;

-- with sequential scans priced out, a plan that still reads durable.workflows by a sequential
-- scan would mean no index matches the view's condition
create function pg_temp.plan_of(p_sql text) returns setof text language plpgsql as $f$
begin
  return query execute 'explain ' || p_sql;
end $f$;
set local enable_seqscan = off;
select ok(position('workflows_unfinished' in (
            select pg_catalog.string_agg(line, E'\n')
              from pg_temp.plan_of('select * from durable.queue_stats') line)) > 0,
          'durable.queue_stats reads durable.workflows through workflows_unfinished');
reset enable_seqscan;

select results_eq($$ select pending, running, waiting from durable.queue_stats
                      where queue = 'qi' $$,
                  $$ values (1::bigint, 0::bigint, 0::bigint) $$,
                  'the counts are those of the view without the index');

select * from finish();
rollback;
