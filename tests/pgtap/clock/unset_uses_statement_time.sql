-- Without a pinned time, durable.now() is the start of the current statement.
begin;
select plan(4);

select durable_test.unpin();
select is(durable.now(), statement_timestamp(), 'empty durable.fake_now: statement time');

select set_config('durable.fake_now', '2030-01-01 00:00:00+00', true);
reset durable.fake_now;
select is(durable.now(), statement_timestamp(), 'reset durable.fake_now: statement time');

-- the statement time, not the transaction's start
select pg_sleep(0.01);
select isnt(durable.now(), now(), 'durable.now() is not the transaction start time');

select durable.enqueue('clock', p_workflow_id => 'clock-real');
select ok(
  (select created_at > now() and created_at <= clock_timestamp()
     from durable.workflows where id = 'clock-real'),
  'an unpinned enqueue stamps the real statement time');

select * from finish();
rollback;
