-- Queues are served in the order given: the first queue's work first, then the next queue's
-- with what is left of p_max.
begin;
select plan(3);
select durable_test.pin();
select durable.set_queue('high');
select durable.set_queue('low');

select durable.enqueue('wf', p_queue => 'low', p_workflow_id => 'l1', p_priority => 100);
select durable.enqueue('wf', p_queue => 'low', p_workflow_id => 'l2');
select durable.enqueue('wf', p_queue => 'high', p_workflow_id => 'h1');
select durable.enqueue('wf', p_queue => 'high', p_workflow_id => 'h2');

select results_eq(
  $$ select workflow_id, queue from durable.claim('w', array['high', 'low'], 3) $$,
  $$ values ('h1'::text, 'high'::text), ('h2', 'high'), ('l1', 'low') $$,
  'the first queue is drained first, whatever the other''s priorities');
select results_eq(
  $$ select workflow_id from durable.claim('w', array['default', 'high', 'low'], 5) $$,
  $$ values ('l2'::text) $$,
  'empty queues are passed over');
select is((select count(*)::int from durable.claim('w', array['high'], 5)), 0,
  'a queue not asked for is never served (nothing left in high)');

select * from finish();
rollback;
