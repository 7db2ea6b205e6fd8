-- set_queue with only p_rate_limit on a queue that has a rate limit changes the limit and keeps
-- the period, as p_rate_period alone keeps the limit ("null keeps a setting").
-- Regression: it raised DU010 "a rate limit needs its period" even though the
-- queue has one; the period-without-limit check looks at the queue, this one does not.
begin;
select plan(2);
select durable.set_queue('q', p_rate_limit => 10, p_rate_period => interval '1 second');

select lives_ok($$ select durable.set_queue('q', p_rate_limit => 20) $$,
  'changing only the limit of a rate-limited queue is accepted');
select results_eq($$ select rate_limit, rate_period from durable.queues where name = 'q' $$,
  $$ values (20, interval '1 second') $$, 'the limit changes, the period is kept');

select * from finish();
rollback;
