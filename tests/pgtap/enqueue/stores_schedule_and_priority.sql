-- run_at, delay, priority, max_attempts and the backoff settings are stored as given; without
-- them a workflow runs now with priority 0, 3 attempts and backoff 1 s .. 1 h.
begin;
select plan(4);
select durable_test.pin();

select durable.enqueue('defaults', p_workflow_id => 's-default');
select durable.enqueue('at', p_workflow_id => 's-at', p_run_at => '2030-02-03 04:05:06+00');
select durable.enqueue('delay', p_workflow_id => 's-delay', p_delay => interval '2 hours');
select durable.enqueue('tuned', p_workflow_id => 's-tuned', p_priority => -7,
                       p_max_attempts => 9, p_backoff_base => interval '5 seconds',
                       p_backoff_max => interval '10 minutes');
select durable.enqueue('null priority', p_workflow_id => 's-nullprio', p_priority => null);

select results_eq(
  $$ select id, run_at, priority, max_attempts, backoff_base, backoff_max
       from durable.workflows order by id $$,
  $$ values
       ('s-at'::text, timestamptz '2030-02-03 04:05:06+00', 0, 3, interval '1 second', interval '1 hour'),
       ('s-default', durable_test.t0(), 0, 3, interval '1 second', interval '1 hour'),
       ('s-delay', durable_test.t0() + interval '2 hours', 0, 3, interval '1 second', interval '1 hour'),
       ('s-nullprio', durable_test.t0(), 0, 3, interval '1 second', interval '1 hour'),
       ('s-tuned', durable_test.t0(), -7, 9, interval '5 seconds', interval '10 minutes') $$,
  'run_at, delay, priority, max_attempts and backoff are stored');

select ok((select bool_and(created_at = durable_test.t0()) from durable.workflows),
  'created_at is now for all of them');

-- a run_at in the past is allowed: it is runnable at once
select durable.enqueue('past', p_workflow_id => 's-past', p_run_at => '2020-01-01 00:00:00+00');
select is((select workflow_id from durable.claim('w', p_max => 1)), 's-past',
  'a run_at in the past is claimed first (oldest run_at)');
select is((select count(*)::int from durable.claim('w2', p_max => 10)), 3,
  'the delayed and future workflows are not claimable now');

select * from finish();
rollback;
