-- A step already recorded (by an earlier execution) is not retried: step_failed returns the
-- outcome that counts, retry = false, and keeps no new error.
begin;
select plan(5);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'rec');
create temp table l as select lease from durable.workflows where id = 'rec';
select durable.checkpoint('rec', (select lease from l), 0, 'done_before', '{"v": 1}');
select durable.checkpoint('rec', (select lease from l), 1, 'failed_before', null, '{"m": "old"}');

select results_eq(
  $$ select * from durable.step_failed('rec', (select lease from l), 0, 'done_before', '{"m": "new"}', 5) $$,
  $$ values (false, null::interval, 0, '{"v": 1}'::jsonb, null::jsonb, null::float8) $$,
  'a recorded output is returned, no retry');
select results_eq(
  $$ select * from durable.step_failed('rec', (select lease from l), 1, 'failed_before', '{"m": "new"}', 5) $$,
  $$ values (false, null::interval, 0, null::jsonb, '{"m": "old"}'::jsonb, null::float8) $$,
  'a recorded error is returned, no retry');
select is((select count(*)::int from durable.errors), 1, 'no new error was kept (only the checkpoint''s)');
select throws_ok(
  $$ select * from durable.step_failed('rec', (select lease from l), 0, 'other_name', '{"m": "x"}') $$,
  'DU005', null, 'another name at a recorded position raises DU005');
select results_eq($$ select step_id, output, error from durable.steps order by step_id $$,
  $$ values (0, '{"v": 1}'::jsonb, null::jsonb), (1, null, '{"m": "old"}') $$,
  'the recorded steps are unchanged');

select * from finish();
rollback;
