-- set_queue refuses bad rate and key settings and changes nothing: DU011 for negative limits
-- and a period out of (0, 1 day], DU010 for a limit without its period or a period without a
-- limit (on a queue that has none).
begin;
select plan(10);

select throws_ok($$ select durable.set_queue('q', p_rate_limit => -1, p_rate_period => interval '1 second') $$,
  'DU011', 'rate_limit must be 1 or more, or 0 for no limit, got -1', 'a negative rate limit raises DU011');
select throws_ok($$ select durable.set_queue('q', p_key_concurrency => -1) $$,
  'DU011', 'key_concurrency must be 1 or more, or 0 for no limit, got -1', 'a negative key limit raises DU011');
select throws_ok($$ select durable.set_queue('q', p_rate_limit => 5) $$,
  'DU010', 'a rate limit needs its period', 'a new rate limit without its period raises DU010');
select throws_ok($$ select durable.set_queue('q', p_rate_period => interval '1 second') $$,
  'DU010', 'a rate period needs its limit', 'a period without a limit raises DU010');
select throws_ok($$ select durable.set_queue('q', p_rate_limit => 5, p_rate_period => interval '0') $$,
  'DU011', null, 'a period of 0 raises DU011');
select throws_ok($$ select durable.set_queue('q', p_rate_limit => 5, p_rate_period => interval '-1 second') $$,
  'DU011', null, 'a negative period raises DU011');
select throws_ok($$ select durable.set_queue('q', p_rate_limit => 5, p_rate_period => interval '1 day 1 second') $$,
  'DU011', null, 'a period over a day raises DU011');
select set_eq($$ select name from durable.queues $$, $$ values ('default') $$, 'no queue was created');

select durable.set_queue('default', p_rate_limit => 5, p_rate_period => interval '1 second');
select throws_ok($$ select durable.set_queue('default', p_rate_period => interval '2 days') $$,
  'DU011', null, 'changing the period out of range raises DU011');
select results_eq($$ select rate_limit, rate_period from durable.queues where name = 'default' $$,
  $$ values (5, interval '1 second') $$, 'and keeps the settings');

select * from finish();
rollback;
