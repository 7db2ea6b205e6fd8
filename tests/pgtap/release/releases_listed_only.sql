-- release(worker, ids) releases only the listed workflows the worker holds, and keeps the
-- worker registered.
begin;
select plan(4);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => id) from unnest(array['l1', 'l2', 'l3']) id;
select durable.claim('rel-a', p_max => 2);
select durable.claim('rel-b');

select is(durable.release('rel-a', array['l1', 'l3', 'nope']), 1,
  'only l1 is released: l3 is another worker''s, nope does not exist');
select results_eq($$ select id, status, owner from durable.workflows order by id $$,
  $$ values ('l1'::text, 'pending'::text, null::text), ('l2', 'running', 'rel-a'), ('l3', 'running', 'rel-b') $$,
  'l1 pending, the others still held');
select ok(exists (select 1 from durable.workers where id = 'rel-a'), 'the worker stays registered');
select is(durable.release('rel-a', '{}'), 0, 'an empty list releases nothing');

select * from finish();
rollback;
