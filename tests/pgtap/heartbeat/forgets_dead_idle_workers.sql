-- A heartbeat deletes workers whose heartbeat expired and that hold nothing, so the claim's list
-- of dead workers to reclaim from stays short; a dead worker that still holds running workflows
-- is kept until they are reclaimed, and a live one is kept.
begin;
select plan(3);
select durable_test.pin();

select durable.heartbeat('dead-idle', interval '10 seconds');
select durable.heartbeat('live', interval '1 minute');
select * from durable_test.start(p_worker => 'dead-holding', p_workflow_id => 'held',
                                 p_lease_timeout => interval '10 seconds');
-- nobody claims from default since, so 'held' stays with its dead worker

select durable_test.advance(interval '10 seconds');
select durable.heartbeat('live', interval '1 minute');
select set_eq($$ select id from durable.workers $$,
  $$ values ('dead-idle'), ('dead-holding'), ('live') $$,
  'a worker whose lease ends exactly now is not dead yet');

select durable_test.advance(interval '1 microsecond');
select durable.heartbeat('live', interval '1 minute');
select set_eq($$ select id from durable.workers $$,
  $$ values ('dead-holding'), ('live') $$,
  'the dead idle worker is gone; the dead one holding work is kept');

select * from durable.claim('live', array['default'], 1);
select durable.heartbeat('live', interval '1 minute');
select set_eq($$ select id from durable.workers $$, $$ values ('live') $$,
  'once its work is reclaimed, the dead worker is forgotten too');

select * from finish();
rollback;
