-- durable.queue_stats shows a queue's rate limit and, while its window is full, next_start_at:
-- when the next claim may start. It is null when the window has room.
begin;
select plan(7);
select durable_test.pin();
select durable.set_queue('rl', p_rate_limit => 2, p_rate_period => interval '30 seconds');
select durable.enqueue('wf', p_queue => 'rl') from generate_series(1, 5);

select results_eq(
  $$ select rate_limit, rate_period, key_concurrency, next_start_at from durable.queue_stats where queue = 'rl' $$,
  $$ values (2, interval '30 seconds', null::integer, null::timestamptz) $$,
  'the limit shows; no claim yet: next_start_at is null');
select durable.claim('w1', array['rl'], 1, interval '1 hour');
select is((select next_start_at from durable.queue_stats where queue = 'rl'), null,
  'one of 2 taken: the window has room, null');
select durable_test.advance(interval '10 seconds');
select durable.claim('w1', array['rl'], 1, interval '1 hour');
select is((select next_start_at from durable.queue_stats where queue = 'rl'),
  durable_test.t0() + interval '30 seconds',
  'full: next_start_at is when the oldest claim leaves the window');
select is((select count(*)::int from durable.claim('w2', array['rl'], 1, interval '1 hour')), 0,
  'and a claim before then gets none');
select durable_test.pin(durable_test.t0() + interval '30 seconds');
select is((select next_start_at from durable.queue_stats where queue = 'rl'), null,
  'at next_start_at the window has room again');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 1,
  'and a claim at next_start_at gets one');
select is((select next_start_at from durable.queue_stats where queue = 'rl'),
  durable_test.t0() + interval '40 seconds', 'full again until the claim of 10s leaves');

select * from finish();
rollback;
