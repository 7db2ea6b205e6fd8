-- step_failed checks its retry policy with the same rule as enqueue (durable.check_retry_policy):
-- a backoff over 10 years cannot be added to the clock and is refused before anything is written.
begin;
select plan(3);
select durable_test.pin();
select * from durable_test.start(p_workflow_id => 'long');

select throws_ok(
  $$ select * from durable.step_failed('long', (select lease from durable.workflows where id = 'long'),
                                       0, 's', '{"m": "x"}', 3, '1 day', '11 years') $$,
  'DU011', 'backoff_max must be 10 years or less, got 11 years',
  'a step backoff over 10 years is refused');
select throws_ok(
  $$ select * from durable.step_failed('long', (select lease from durable.workflows where id = 'long'),
                                       0, 's', '{"m": "x"}', 0) $$,
  'DU011', 'max_attempts must be 1 or more, got 0', 'max_attempts below 1 is refused');
select is((select count(*) from durable.errors), 0::bigint, 'nothing was recorded');

select * from finish();
rollback;
