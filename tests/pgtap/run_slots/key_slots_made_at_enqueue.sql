-- The trigger workflows_key_slots: enqueueing a workflow with a new concurrency key into a queue
-- with key_concurrency makes the key's first run slots (up to 64), in the enqueue's transaction;
-- nothing for a queue without the setting, nothing again for a key that has slots.
begin;
select plan(5);
select trigger_is('durable', 'workflows', 'workflows_key_slots', 'durable', 'workflows_key_slots',
  'durable.workflows has trigger workflows_key_slots');
select durable.set_queue('ks-q', p_key_concurrency => 3);
select durable.set_queue('ks-big', p_key_concurrency => 500);
select durable.set_queue('ks-none');
select durable.enqueue('wf', p_queue => 'ks-q', p_concurrency_key => 'c1');
select is((select array_agg(slot order by slot) from durable.run_slots where queue = 'ks-q' and key = 'c1'),
  array[1, 2, 3], 'a new key of a queue with key_concurrency 3: slots 1..3');
select durable.enqueue('wf', p_queue => 'ks-big', p_concurrency_key => 'c1');
select is((select count(*)::int from durable.run_slots where queue = 'ks-big' and key = 'c1'), 64,
  'key_concurrency 500: the first 64');
select durable.enqueue('wf', p_queue => 'ks-none', p_concurrency_key => 'c1');
select is((select count(*)::int from durable.run_slots where queue = 'ks-none'), 0,
  'a queue without key_concurrency: none');
delete from durable.run_slots where queue = 'ks-q' and slot = 3;
select durable.enqueue('wf', p_queue => 'ks-q', p_concurrency_key => 'c1');
select is((select count(*)::int from durable.run_slots where queue = 'ks-q' and key = 'c1'), 2,
  'a key that has slots: none made');
select * from finish();
rollback;
