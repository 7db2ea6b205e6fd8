-- heartbeat returns the workflows the worker still holds, with their leases; one that was
-- reclaimed, released, finished or cancelled is no longer in the list.
begin;
select plan(4);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => id) from unnest(array['h1', 'h2', 'h3', 'h4']) id;
select durable.claim('hb-a', p_max => 4, p_lease_timeout => interval '10 seconds');

select results_eq($$ select workflow_id, lease from durable.heartbeat('hb-a', interval '10 seconds') order by 1 $$,
  $$ select id, lease from durable.workflows order by id $$,
  'the worker holds all four, with their leases');

select durable.complete('h1', (select lease from durable.workflows where id = 'h1'));
select durable.cancel('h2');
select durable.release('hb-a', array['h3']);
select results_eq($$ select workflow_id from durable.heartbeat('hb-a', interval '10 seconds') $$,
  $$ values ('h4'::text) $$, 'finished, cancelled and released ones drop out');

-- a reclaimed workflow disappears from the old worker's list
select durable_test.advance(interval '11 seconds');
select durable.claim('hb-b', p_max => 5);
select is((select count(*)::int from durable.heartbeat('hb-a')), 0,
  'after a reclaim the old worker holds nothing');
select results_eq($$ select workflow_id from durable.heartbeat('hb-b') order by 1 $$,
  $$ values ('h3'::text), ('h4') $$, 'the new worker holds the reclaimed and the released one');

select * from finish();
rollback;
