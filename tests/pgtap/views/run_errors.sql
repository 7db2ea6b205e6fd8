-- durable.run_errors: every error with its workflow's name and queue: step tries (step_id set)
-- and failed attempts (step_id null).
begin;
select plan(2);
select durable_test.pin();
select durable.set_queue('eq');

select * from durable_test.start('job', p_queue => 'eq', p_workflow_id => 've');
select durable.step_failed('ve', (select lease from durable.workflows where id = 've'), 0, 'flaky', '{"try": 1}', 3);
select durable.fail('ve', (select lease from durable.workflows where id = 've'), '{"m": "attempt"}');

select results_eq(
  $$ select workflow_id, workflow_name, queue, step_id, step_name, attempt, error, created_at
       from durable.run_errors order by id $$,
  $$ values ('ve'::text, 'job'::text, 'eq'::text, 0, 'flaky'::text, 1, '{"try": 1}'::jsonb, durable_test.t0()),
            ('ve', 'job', 'eq', null, null, 1, '{"m": "attempt"}', durable_test.t0()) $$,
  'the step try and the failed attempt, with the workflow''s name and queue');
select is((select count(*)::int from durable.run_errors where step_id is not null), 1,
  'step errors are told apart by step_id');

select * from finish();
rollback;
