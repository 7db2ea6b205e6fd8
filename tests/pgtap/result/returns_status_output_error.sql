-- result reads a workflow's status, output or error, attempt and timestamps; DU003 when unknown.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'rs-done');
select * from durable_test.start(p_workflow_id => 'rs-failed', p_max_attempts => 1);
select durable.enqueue('wf', p_workflow_id => 'rs-pending');
select durable_test.advance(interval '2 seconds');
select durable.complete('rs-done', (select lease from durable.workflows where id = 'rs-done'), '{"v": 1}');
select durable.fail('rs-failed', (select lease from durable.workflows where id = 'rs-failed'), '{"m": "no"}');

select results_eq($$ select * from durable.result('rs-pending') $$,
  $$ values ('pending'::text, null::jsonb, null::jsonb, 1, durable_test.t0(), null::timestamptz) $$,
  'pending: no output, not finished');
select results_eq($$ select * from durable.result('rs-done') $$,
  $$ values ('succeeded'::text, '{"v": 1}'::jsonb, null::jsonb, 1, durable_test.t0(), durable_test.t0() + interval '2 seconds') $$,
  'succeeded: the output and finished_at');
select results_eq($$ select * from durable.result('rs-failed') $$,
  $$ values ('failed'::text, null::jsonb, '{"m": "no"}'::jsonb, 1, durable_test.t0(), durable_test.t0() + interval '2 seconds') $$,
  'failed: the error and finished_at');
select throws_ok($$ select * from durable.result('nobody') $$, 'DU003', 'unknown workflow nobody',
  'an unknown workflow raises DU003');

select * from finish();
rollback;
