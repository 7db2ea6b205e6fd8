-- A queue with a rate limit hands out at most rate_limit workflows in any window of rate_period,
-- whatever the claims ask for and whichever workers ask; a claim in a full window gets none and
-- takes nothing else of that queue.
begin;
select plan(8);
select durable_test.pin();
select durable.set_queue('rl', p_rate_limit => 3, p_rate_period => interval '1 minute');
select durable.enqueue('wf', p_queue => 'rl') from generate_series(1, 10);

select is((select count(*)::int from durable.claim('w1', array['rl'], 2, interval '1 hour')), 2,
  'a claim of 2 gets 2 of the 3 allowed');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 1,
  'another worker''s claim of 5 gets the 1 left in the window');
select is((select count(*)::int from durable.claim('w3', array['rl'], 5, interval '1 hour')), 0,
  'a third worker gets none: the window is full');

-- finishing runs frees no start (a rate limit is about starts, not running ones)
select durable.complete(w.id, w.lease, '"ok"') from durable.workflows w where w.status = 'running';
select is((select count(*)::int from durable.claim('w1', array['rl'], 5, interval '1 hour')), 0,
  'finished runs do not free the window');

select durable_test.advance(interval '59.999 seconds');
select is((select count(*)::int from durable.claim('w1', array['rl'], 5, interval '1 hour')), 0,
  'just before the period has passed, still none');
select durable_test.advance(interval '0.001 seconds');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 3,
  'once the first claims are a period old, 3 more');
select is((select count(*)::int from durable.workflows where queue = 'rl' and claims > 0), 6,
  '6 started in all');

-- other queues are not limited by it
select durable.enqueue('wf', p_queue => 'default') from generate_series(1, 4);
select is((select count(*)::int from durable.claim('w3', array['rl', 'default'], 10, interval '1 hour')), 4,
  'a claim over a full rate-limited queue and another gets the other''s workflows');

select * from finish();
rollback;
