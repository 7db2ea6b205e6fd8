-- A rate limit is honoured with the concurrency limit and the pause: each claim takes the
-- least of what they allow, a paused queue takes none (and uses no start of the window).
begin;
select plan(5);
select durable_test.pin();
select durable.set_queue('rl', p_concurrency => 2, p_rate_limit => 3,
                         p_rate_period => interval '1 minute');
select durable.enqueue('wf', p_queue => 'rl') from generate_series(1, 10);

select is((select count(*)::int from durable.claim('w1', array['rl'], 10, interval '1 hour')), 2,
  'the concurrency limit (2) binds first');
select durable.complete(w.id, w.lease, '"ok"') from durable.workflows w where w.status = 'running';
select is((select count(*)::int from durable.claim('w1', array['rl'], 10, interval '1 hour')), 1,
  'then the rate limit: 1 start left in the window though 2 slots are free');

select durable_test.advance(interval '1 minute');
select durable.complete(w.id, w.lease, '"ok"') from durable.workflows w where w.status = 'running';
select durable.set_queue('rl', p_paused => true);
select is((select count(*)::int from durable.claim('w1', array['rl'], 10, interval '1 hour')), 0,
  'paused: none');
select is((select count(*)::int from durable.queue_starts where queue = 'rl' and at = durable.now()), 0,
  'a claim of a paused queue records no start');
select durable.set_queue('rl', p_paused => false);
select is((select count(*)::int from durable.claim('w1', array['rl'], 10, interval '1 hour')), 2,
  'resumed: the concurrency limit again');

select * from finish();
rollback;
