-- p_retryable = false fails the workflow at once, whatever attempts are left.
begin;
select plan(2);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'nr', p_max_attempts => 10);
select durable.claim('worker-a');
select is(
  (select status from durable.fail('nr', (select lease from durable.workflows where id = 'nr'), '{"m": "bad input"}', false)),
  'failed', 'a non-retryable error fails at once');
select results_eq($$ select status, attempt, error from durable.workflows where id = 'nr' $$,
  $$ values ('failed'::text, 1, '{"m": "bad input"}'::jsonb) $$, 'at attempt 1 of 10');

select * from finish();
rollback;
