-- complete_and_claim registers and refreshes its worker as claim does, and reclaims the work
-- of workers whose heartbeat expired before taking pending work.
begin;
select plan(3);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'dead-work', p_worker => 'dead',
                                 p_lease_timeout => interval '10 seconds');
select durable.enqueue('wf', p_workflow_id => 'mine');
select durable.claim('live', array['default'], 1, interval '1 hour');  -- takes 'mine'
select durable_test.advance(interval '11 seconds');
select durable.enqueue('wf', p_workflow_id => 'fresh');

create temp table got as
select c.* from durable.workflows w
 cross join lateral durable.complete_and_claim(w.id, w.lease, '1', 'live', array['default'], 1) c
 where w.id = 'mine';
select is((select workflow_id from got), 'dead-work', 'the expired worker''s workflow comes first');
select is((select owner from durable.workflows where id = 'dead-work'), 'live', 'and is now the live worker''s');
select is((select heartbeat_at from durable.workers where id = 'live'), durable.now(),
  'the worker''s heartbeat is refreshed');

select * from finish();
rollback;
