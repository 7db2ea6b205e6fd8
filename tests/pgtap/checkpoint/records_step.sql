-- checkpoint records a step's output under (workflow, position) and answers recorded = true.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'cp-1');
create temp table lease as select lease from durable.workflows where id = 'cp-1';

select results_eq(
  $$ select * from durable.checkpoint('cp-1', (select lease from lease), 0, 'fetch', '{"rows": 3}') $$,
  $$ values (true, '{"rows": 3}'::jsonb, null::jsonb) $$,
  'the first checkpoint at a position is recorded and returns its output');
select results_eq(
  $$ select workflow_id, step_id, name, output, error, attempt, lease, started_at, created_at
       from durable.steps $$,
  $$ select 'cp-1'::text, 0, 'fetch'::text, '{"rows": 3}'::jsonb, null::jsonb, 1,
            (select lease from lease), null::timestamptz, durable_test.t0() $$,
  'the step row holds name, output, attempt, lease and time');

select results_eq(
  $$ select * from durable.checkpoint('cp-1', (select lease from lease), 1, 'nothing') $$,
  $$ values (true, 'null'::jsonb, null::jsonb) $$,
  'a step without output records JSON null');
select is((select status from durable.workflows where id = 'cp-1'), 'running',
  'the workflow is still running');

select * from finish();
rollback;
