-- The try that reaches p_max_attempts records the error as the step's outcome: retry = false,
-- with the error returned (and replayed from then on).
begin;
select plan(5);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'last');
create temp table l as select lease from durable.workflows where id = 'last';

select results_eq(
  $$ select retry, tries from durable.step_failed('last', (select lease from l), 3, 'once', '{"m": "a"}', 2) $$,
  $$ values (true, 1) $$, 'try 1 of 2: retry');
select results_eq(
  $$ select retry, retry_in, tries, output, error
       from durable.step_failed('last', (select lease from l), 3, 'once', '{"m": "b"}', 2) $$,
  $$ values (false, null::interval, 2, null::jsonb, '{"m": "b"}'::jsonb) $$,
  'try 2 of 2: no retry, the error is the outcome');
select results_eq($$ select step_id, name, output, error, attempt from durable.steps $$,
  $$ values (3, 'once'::text, null::jsonb, '{"m": "b"}'::jsonb, 1) $$,
  'the step is recorded with the last error');
select is((select count(*)::int from durable.errors where step_id = 3), 2, 'both tries are in durable.errors');

-- default p_max_attempts is 1: the first failure is final
select results_eq(
  $$ select retry, tries, error from durable.step_failed('last', (select lease from l), 4, 'no_retry', '{"m": "c"}') $$,
  $$ values (false, 1, '{"m": "c"}'::jsonb) $$,
  'with the default of one try the first failure is the outcome');

select * from finish();
rollback;
