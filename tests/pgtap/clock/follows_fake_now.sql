-- durable.now() returns the pinned time while durable.fake_now is set, and every durable
-- function takes its time from it.
begin;
select plan(5);

select durable_test.pin('2030-06-01 12:00:00+00');
select is(durable.now(), timestamptz '2030-06-01 12:00:00+00',
  'durable.now() returns durable.fake_now');

select durable_test.advance(interval '90 seconds');
select is(durable.now(), timestamptz '2030-06-01 12:01:30+00',
  'moving the pinned clock moves durable.now()');

select isnt(durable.now(), statement_timestamp(), 'the pinned clock is not the real one');

select durable.enqueue('clock', p_workflow_id => 'clock-1', p_delay => interval '5 minutes');
select results_eq(
  $$ select created_at, run_at from durable.workflows where id = 'clock-1' $$,
  $$ values (timestamptz '2030-06-01 12:01:30+00', timestamptz '2030-06-01 12:06:30+00') $$,
  'enqueue stamps created_at and run_at from the pinned clock');

select durable.claim('clock-worker');
select results_eq(
  $$ select heartbeat_at, expires_at from durable.workers where id = 'clock-worker' $$,
  $$ values (timestamptz '2030-06-01 12:01:30+00', timestamptz '2030-06-01 12:02:00+00') $$,
  'claim stamps the worker''s heartbeat from the pinned clock (default lease timeout 30 s)');

select * from finish();
rollback;
