-- After the rate limit is lowered below the claims already in the window, next_start_at is when
-- enough of them have left the window for a claim to get one, not when the oldest leaves.
-- Regression (failed before the fix): queue_stats says min(at) + rate_period, at which time the claim
-- still gets none.
begin;
select plan(3);
select durable_test.pin();
select durable.set_queue('rl', p_rate_limit => 5, p_rate_period => interval '1 minute');
select durable.enqueue('wf', p_queue => 'rl') from generate_series(1, 10);
select durable.claim('w1', array['rl'], 3, interval '1 hour');
select durable_test.advance(interval '10 seconds');
select durable.claim('w1', array['rl'], 2, interval '1 hour');
-- (with its period: the limit alone raises DU010, changing_only_the_limit_keeps_period.sql)
select durable.set_queue('rl', p_rate_limit => 2, p_rate_period => interval '1 minute');

select durable_test.pin(durable_test.t0() + interval '30 seconds');
select is((select next_start_at from durable.queue_stats where queue = 'rl'),
  durable_test.t0() + interval '70 seconds',
  'at 30s (5 claims in the window, limit 2) next_start_at is 70s, when the claims of 10s leave');
select durable_test.pin(durable_test.t0() + interval '60 seconds');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 0,
  'at 60s the 2 claims of 10s still fill the lowered limit: none');
select durable_test.pin(durable_test.t0() + interval '70 seconds');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 2,
  'and at 70s a claim gets 2');

select * from finish();
rollback;
