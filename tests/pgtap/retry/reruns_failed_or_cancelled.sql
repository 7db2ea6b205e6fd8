-- retry runs a failed or cancelled workflow again: pending now, attempt + 1 (max_attempts
-- raised to fit), not finished.
begin;
select plan(4);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'rf', p_max_attempts => 1);
select durable.claim('worker-a');
select durable.fail('rf', (select lease from durable.workflows where id = 'rf'), '{"m": "x"}');
select durable.enqueue('wf', p_workflow_id => 'rc');
select durable.cancel('rc');
select durable_test.advance(interval '1 minute');

select is(durable.retry('rf'), 'pending', 'retry of a failed workflow returns pending');
select is(durable.retry('rc'), 'pending', 'retry of a cancelled workflow returns pending');
select results_eq(
  $$ select id, status, attempt, max_attempts, run_at, finished_at, owner from durable.workflows order by id $$,
  $$ values ('rc'::text, 'pending'::text, 2, 3, durable_test.t0() + interval '1 minute', null::timestamptz, null::text),
            ('rf', 'pending', 2, 2, durable_test.t0() + interval '1 minute', null, null) $$,
  'pending now, attempt 2, max_attempts at least 2, not finished');
select results_eq($$ select workflow_id, attempt from durable.claim('worker-b', p_max => 5) order by 1 $$,
  $$ values ('rc'::text, 2), ('rf', 2) $$, 'both are claimed again at attempt 2');

select * from finish();
rollback;
