-- A heartbeat deletes workers that have been dead (expired) for over a day and hold nothing;
-- dead workers that still hold running workflows, and recently dead ones, are kept.
begin;
select plan(3);
select durable_test.pin();

select durable.heartbeat('dead-idle', interval '10 seconds');
select durable.heartbeat('dead-recent', interval '10 seconds');
select * from durable_test.start(p_worker => 'dead-holding', p_workflow_id => 'held', p_lease_timeout => interval '10 seconds');
-- nobody claims from default since, so 'held' stays with its dead worker

select durable_test.advance(interval '1 day 10 seconds');
select durable.heartbeat('dead-recent', interval '10 seconds');
select durable_test.advance(interval '1 second');
select durable.heartbeat('alive');
select set_eq($$ select id from durable.workers $$,
  $$ values ('dead-recent'), ('dead-holding'), ('alive') $$,
  'the idle worker dead for over a day is gone; one holding work and a recent one are kept');

-- exactly a day dead is not over a day
select durable.heartbeat('edge', interval '1 second');
select durable_test.advance(interval '1 day 1 second');
select durable.heartbeat('alive');
select ok(exists (select 1 from durable.workers where id = 'edge'), 'exactly one day dead is kept');
select durable_test.advance(interval '1 microsecond');
select durable.heartbeat('alive');
select ok(not exists (select 1 from durable.workers where id = 'edge'), 'a moment later it is gone');

select * from finish();
rollback;
