-- With p_step_id, complete_and_claim records the workflow's last step (held back by the worker
-- until the workflow returned) in the same transaction as the completion; a step already
-- recorded under the same name is kept as it was.
begin;
select plan(7);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'a');
create temp table l as select lease from durable.workflows where id = 'a';
select durable.checkpoint('a', (select lease from l), 0, 'first', '1');

create temp table got as
select * from durable.complete_and_claim('a', (select lease from l), '"out"', 'worker-a',
  p_max => 0, p_step_id => 1, p_step_name => 'second', p_step_output => '{"x": 2}',
  p_step_started_at => durable.now() - interval '2 seconds');
select results_eq($$ select completed, workflow_id from got $$,
  $$ values ('succeeded'::text, null::text) $$, 'max 0: one row, nothing claimed');
select results_eq($$ select step_id, name, output, error, attempt, started_at, created_at
                       from durable.steps where workflow_id = 'a' order by step_id $$,
  $$ values (0, 'first'::text, '1'::jsonb, null::jsonb, 1, null::timestamptz, durable.now()),
            (1, 'second', '{"x": 2}', null, 1, durable.now() - interval '2 seconds', durable.now()) $$,
  'the last step is recorded with its output, attempt and start time');
select is((select status from durable.workflows where id = 'a'), 'succeeded', 'and the workflow is done');

-- a step recorded before (a retried call whose reply was lost) is kept as it was
select * from durable_test.start(p_workflow_id => 'b');
create temp table m as select lease from durable.workflows where id = 'b';
select durable.checkpoint('b', (select lease from m), 0, 'only', '"kept"');
select lives_ok(format($$ select * from durable.complete_and_claim('b', %s, '"out"', 'worker-a',
  p_max => 0, p_step_id => 0, p_step_name => 'only', p_step_output => '"new"') $$, (select lease from m)),
  'recording a step already recorded under its name is not an error');
select is((select output from durable.steps where workflow_id = 'b'), '"kept"'::jsonb,
  'the recorded output stays');
select is((select status from durable.workflows where id = 'b'), 'succeeded', 'the workflow is done');

-- no step: nothing is written in steps
select * from durable_test.start(p_workflow_id => 'c');
select durable.complete_and_claim('c', (select lease from durable.workflows where id = 'c'),
                                  'null', 'worker-a', p_max => 0);
select is((select count(*)::int from durable.steps where workflow_id = 'c'), 0,
  'without p_step_id no step is recorded');

select * from finish();
rollback;
