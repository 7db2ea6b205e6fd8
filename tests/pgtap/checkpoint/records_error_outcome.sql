-- A checkpoint with p_error records the error as the step's outcome (replayed as such) and
-- keeps it in durable.errors with the step and attempt.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'err');
select results_eq(
  $$ select * from durable.checkpoint('err', (select lease from durable.workflows where id = 'err'), 0, 'call_api',
                                      '"ignored"', '{"message": "404"}') $$,
  $$ values (true, null::jsonb, '{"message": "404"}'::jsonb) $$,
  'an error outcome is recorded, the output is dropped');
select results_eq($$ select step_id, name, output, error from durable.steps $$,
  $$ values (0, 'call_api'::text, null::jsonb, '{"message": "404"}'::jsonb) $$,
  'the step row holds the error');
select results_eq($$ select workflow_id, step_id, name, attempt, error, created_at from durable.errors $$,
  $$ values ('err'::text, 0, 'call_api'::text, 1, '{"message": "404"}'::jsonb, durable_test.t0()) $$,
  'durable.errors keeps it with the step and attempt');

select results_eq(
  $$ select * from durable.checkpoint('err', (select lease from durable.workflows where id = 'err'), 0, 'call_api',
                                      '"now fine"') $$,
  $$ values (false, null::jsonb, '{"message": "404"}'::jsonb) $$,
  'a later output at that position gets the recorded error back');

select * from finish();
rollback;
