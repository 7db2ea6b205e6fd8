-- A very large attempt number (a workflow with a generous max_attempts, a step retried many
-- times) neither overflows nor errors: the delay is capped at backoff_max.
begin;
select plan(6);
select setseed(0.9);

select ok(durable.backoff(2147483647, interval '1 second', interval '1 hour') between interval '30 minutes' and interval '1 hour',
  'attempt 2^31-1 with a base of 1 s is capped at 1 hour');
select ok(durable.backoff(1000, interval '1 minute', interval '2 hours') between interval '1 hour' and interval '2 hours',
  'attempt 1000 with a base of 1 minute is capped at 2 hours');
select ok(durable.backoff(1000, interval '1 day', interval '2 days') between interval '1 day' and interval '2 days',
  'attempt 1000 with a base of 1 day is capped at 2 days');
select ok(durable.backoff(64, interval '1 hour', interval '1000 years') between interval '500 years' and interval '1000 years',
  'attempt 64 with a base of 1 hour and a max of 1000 years stays in range');

-- through the public functions: fail on attempt 50 of a workflow with a 1 minute base
select durable_test.pin();
select durable.enqueue('wf', p_workflow_id => 'many', p_max_attempts => 100,
                       p_backoff_base => interval '1 minute', p_backoff_max => interval '1 day');
update durable.workflows set attempt = 50 where id = 'many';
select durable.claim('worker-a');
select results_eq(
  $$ select status, run_at between durable_test.t0() + interval '12 hours' and durable_test.t0() + interval '1 day'
       from durable.fail('many', (select lease from durable.workflows where id = 'many'), '{}') $$,
  $$ values ('pending'::text, true) $$,
  'fail at attempt 50 with a 1 minute base schedules the retry within [12 h, 1 day]');
-- and step_failed on the 45th try of a step with a 1 minute base
select durable_test.pin((select run_at from durable.workflows where id = 'many'));
select durable.claim('worker-a', p_max => 1);
insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
select 'many', 0, 's', 51, '{}', durable.now() from generate_series(1, 44);
select results_eq(
  $$ select retry, tries, retry_in between interval '12 hours' and interval '1 day'
       from durable.step_failed('many', (select lease from durable.workflows where id = 'many'), 0, 's', '{}',
                                100, interval '1 minute', interval '1 day') $$,
  $$ values (true, 45, true) $$,
  'step_failed on try 45 with a 1 minute base answers a retry within [12 h, 1 day]');

select * from finish();
rollback;
