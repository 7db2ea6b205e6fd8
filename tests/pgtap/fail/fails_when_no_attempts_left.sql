-- On the last attempt fail ends the workflow: failed, finished_at now, the error kept, steps
-- kept (nothing will run again unless durable.retry).
begin;
select plan(4);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'last', p_max_attempts => 1);
select durable.claim('worker-a');
select durable.checkpoint('last', (select lease from durable.workflows where id = 'last'), 0, 'bad', null, '{"m": "s"}');

select results_eq(
  $$ select * from durable.fail('last', (select lease from durable.workflows where id = 'last'), '{"m": "final"}') $$,
  $$ values ('failed'::text, null::timestamptz) $$,
  'fail returns failed and no run_at: nothing will run (regression: it returned the old run_at)');
select results_eq(
  $$ select status, attempt, error, owner, lease, finished_at from durable.workflows where id = 'last' $$,
  $$ values ('failed'::text, 1, '{"m": "final"}'::jsonb, null::text, null::bigint, durable_test.t0()) $$,
  'failed for good, finished now, error kept');
select is((select count(*)::int from durable.steps), 1, 'the steps are kept, errored ones too');
select is((select count(*)::int from durable.errors where step_id is null), 1, 'the error is in durable.errors');

select * from finish();
rollback;
