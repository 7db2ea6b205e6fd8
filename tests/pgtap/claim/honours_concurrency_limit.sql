-- A queue with a concurrency limit never has more workflows running than the limit.
begin;
select plan(6);
select durable_test.pin();
select durable.set_queue('limited', p_concurrency => 2);

select durable.enqueue('wf', p_queue => 'limited') from generate_series(1, 5);

select is((select count(*)::int from durable.claim('w', array['limited'], 10)), 2,
  'a claim of 10 gets the limit, 2');
select is((select count(*)::int from durable.claim('w2', array['limited'], 10)), 0,
  'another worker gets none while 2 run');

select durable.complete(w.id, w.lease, '"ok"')
  from durable.workflows w where w.id = (select min(id) from durable.workflows where status = 'running');
select is((select count(*)::int from durable.claim('w2', array['limited'], 10)), 1,
  'when one finishes one slot is free');
select is((select count(*)::int from durable.workflows where queue = 'limited' and status = 'running'), 2,
  'still 2 running');

select durable.set_queue('limited', p_concurrency => 0);  -- 0 removes the limit
select is((select count(*)::int from durable.claim('w2', array['limited'], 10)), 2,
  'without a limit the rest is claimed');
select is((select count(*)::int from durable.workflows where queue = 'limited' and status = 'running'), 4,
  '4 running');

select * from finish();
rollback;
