-- Found by the fault runs: checkpoint (with an error) and step_failed wrote durable.errors before
-- the step, against the lock order (steps, then errors), and logged an error for a try whose
-- outcome another execution had already recorded. Now the step comes first and only the call
-- that records the outcome logs it.
begin;
select plan(4);
select durable_test.pin();
select * from durable_test.start(p_workflow_id => 'ef');

select results_eq(
  $$ select recorded from durable.checkpoint('ef', (select lease from durable.workflows where id = 'ef'),
                                             0, 's', '"done"') $$,
  $$ values (true) $$, 'the step is recorded with an output');
select results_eq(
  $$ select recorded, output, error from durable.checkpoint('ef',
       (select lease from durable.workflows where id = 'ef'), 0, 's', null, '{"m": "late"}') $$,
  $$ values (false, '"done"'::jsonb, null::jsonb) $$,
  'a late error at a recorded position gets the recorded output back');
select results_eq(
  $$ select retry, output from durable.step_failed('ef',
       (select lease from durable.workflows where id = 'ef'), 0, 's', '{"m": "late try"}', 3) $$,
  $$ values (false, '"done"'::jsonb) $$,
  'step_failed on a recorded step is not retried and returns the recorded output');
select is((select count(*) from durable.errors), 0::bigint,
  'neither late error is logged: they did not count');

select * from finish();
rollback;
