-- Tries are counted per workflow attempt: after the workflow is retried (attempt 2), the step
-- gets p_max_attempts tries again.
begin;
select plan(3);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'pa');
select durable.step_failed('pa', (select lease from durable.workflows where id = 'pa'), 0, 's', '{"t": 1}', 2);
select durable.step_failed('pa', (select lease from durable.workflows where id = 'pa'), 0, 's', '{"t": 2}', 2);
select is((select error from durable.steps where step_id = 0), '{"t": 2}'::jsonb,
  'attempt 1 used both tries: the error is the outcome');
select durable.fail('pa', (select lease from durable.workflows where id = 'pa'), '{"wf": 1}');
select durable_test.advance(interval '1 day');
select durable.claim('worker-a');
select results_eq(
  $$ select retry, tries from durable.step_failed('pa', (select lease from durable.workflows where id = 'pa'), 0, 's', '{"t": 3}', 2) $$,
  $$ values (true, 1) $$,
  'in attempt 2 the first try of the step is retried again');
select is((select count(*)::int from durable.errors where step_id = 0), 3,
  'all three tries are kept');

select * from finish();
rollback;
