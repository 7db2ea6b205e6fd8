-- A paused queue is skipped (its runnable work stays pending); unpausing makes it claimable.
begin;
select plan(5);
select durable_test.pin();
select durable.set_queue('paused_q', p_paused => true);

select durable.enqueue('wf', p_queue => 'paused_q', p_workflow_id => 'pq');
select durable.enqueue('wf', p_workflow_id => 'dq');

select results_eq(
  $$ select workflow_id from durable.claim('w', array['paused_q', 'default'], 5) $$,
  $$ values ('dq'::text) $$,
  'the paused queue is skipped, the next one served');
select is((select status from durable.workflows where id = 'pq'), 'pending', 'its work stays pending');

select durable.set_queue('paused_q', p_paused => false);
select is((select workflow_id from durable.claim('w', array['paused_q'])), 'pq',
  'after unpausing it is served');

-- a paused queue's expired leases are not reclaimed either
select durable_test.advance(interval '1 hour');
select durable.set_queue('paused_q', p_paused => true);
select is((select count(*)::int from durable.claim('w2', array['paused_q'])), 0,
  'a paused queue''s expired leases are not reclaimed');
select durable.set_queue('paused_q', p_paused => false);
select is((select workflow_id from durable.claim('w2', array['paused_q'])), 'pq',
  'unpaused, the expired lease is reclaimed');

select * from finish();
rollback;
