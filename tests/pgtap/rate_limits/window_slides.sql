-- The window slides: a claim counts the claims of the last rate_period, not of a fixed
-- interval, so starts spread over the period free one slot at a time.
begin;
select plan(7);
select durable_test.pin();
select durable.set_queue('rl', p_rate_limit => 3, p_rate_period => interval '1 minute');
select durable.enqueue('wf', p_queue => 'rl') from generate_series(1, 10);

select is((select count(*)::int from durable.claim('w1', array['rl'], 1, interval '1 hour')), 1, 'one at 0s');
select durable_test.advance(interval '20 seconds');
select is((select count(*)::int from durable.claim('w1', array['rl'], 1, interval '1 hour')), 1, 'one at 20s');
select durable_test.advance(interval '20 seconds');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 1,
  'at 40s one more, the third of the window');
select durable_test.advance(interval '19 seconds');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 0,
  'at 59s none: a fixed minute would not matter here, the sliding window does');
select durable_test.advance(interval '1 second');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 1,
  'at 60s the start of 0s has left the window: exactly one');
select durable_test.advance(interval '10 seconds');
select is((select count(*)::int from durable.claim('w2', array['rl'], 5, interval '1 hour')), 0,
  'at 70s none (20s, 40s and 60s are in the window)');

-- in any window of a minute, at most 3 of the recorded first claims
select is((select max(n)::int from (
    select (select count(*) from durable.workflows o
             where o.queue = 'rl' and o.started_at >= w.started_at
               and o.started_at < w.started_at + interval '1 minute') as n
      from durable.workflows w where w.queue = 'rl' and w.started_at is not null) x), 3,
  'no window of a minute holds more than 3 starts');

select * from finish();
rollback;
