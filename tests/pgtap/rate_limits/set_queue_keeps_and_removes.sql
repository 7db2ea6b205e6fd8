-- set_queue changes only the rate and key settings it is given: null keeps them, other
-- settings keep them, p_rate_limit 0 removes the rate limit with its period, p_key_concurrency
-- 0 removes the per-key limit; the period alone can change, keeping the limit.
begin;
select plan(8);

select durable.set_queue('q', p_rate_limit => 10, p_rate_period => interval '1 second',
                         p_key_concurrency => 2);
select results_eq($$ select rate_limit, rate_period, key_concurrency, concurrency, paused from durable.queues where name = 'q' $$,
  $$ values (10, interval '1 second', 2, null::integer, false) $$, 'created with a rate and a per-key limit');
select durable.set_queue('q', p_paused => true);
select results_eq($$ select rate_limit, rate_period, key_concurrency, paused from durable.queues where name = 'q' $$,
  $$ values (10, interval '1 second', 2, true) $$, 'pausing keeps them');
select durable.set_queue('q', 4);
select results_eq($$ select rate_limit, rate_period, key_concurrency, concurrency from durable.queues where name = 'q' $$,
  $$ values (10, interval '1 second', 2, 4) $$, 'changing the concurrency keeps them');
select durable.set_queue('q', p_rate_period => interval '1 hour');
select results_eq($$ select rate_limit, rate_period from durable.queues where name = 'q' $$,
  $$ values (10, interval '1 hour') $$, 'the period alone changes, the limit is kept');
select durable.set_queue('q', p_rate_limit => 3, p_rate_period => interval '1 day');
select results_eq($$ select rate_limit, rate_period from durable.queues where name = 'q' $$,
  $$ values (3, interval '1 day') $$, 'both change; 1 day is allowed');
select durable.set_queue('q', p_rate_limit => 0);
select results_eq($$ select rate_limit, rate_period, key_concurrency from durable.queues where name = 'q' $$,
  $$ values (null::integer, null::interval, 2) $$, 'rate limit 0 removes the limit and its period, not the key limit');
select durable.set_queue('q', p_key_concurrency => 0);
select results_eq($$ select rate_limit, key_concurrency, concurrency, paused from durable.queues where name = 'q' $$,
  $$ values (null::integer, null::integer, 4, true) $$, 'key limit 0 removes it; the rest is kept');
select durable.set_queue('q', p_rate_limit => 0, p_rate_period => interval '0');
select is((select rate_limit from durable.queues where name = 'q'), null,
  'removing with a period given does not check the period');

select * from finish();
rollback;
