-- The trigger settings_max_running makes the run slots of a new max_running; housekeep deletes
-- the slots of concurrency keys with nothing running and keeps the others.
begin;
select plan(6);
select durable_test.pin();
select trigger_is('durable', 'settings', 'settings_max_running', 'durable', 'settings_max_running',
  'durable.settings has trigger settings_max_running');
update durable.settings set max_running = 5;
select is((select array_agg(slot order by slot) from durable.run_slots where queue = '' and key = ''),
  array[1, 2, 3, 4, 5], 'max_running 5 made slots 1..5');
update durable.settings set max_running = null, purge_batch = 1000;

select durable.set_queue('hk-q', p_key_concurrency => 2);
select durable.enqueue('wf', p_queue => 'hk-q', p_concurrency_key => k)
  from unnest(array['a', 'b', 'c']) k;
create temp table r as select workflow_id, lease from durable.claim('hk-w', array['hk-q'], 10);
select is((select count(distinct key)::int from durable.run_slots where queue = 'hk-q' and workflow_id is not null), 3,
  'each key has a slot holding its run');
select durable.complete(r.workflow_id, r.lease, '1') from r
  join durable.workflows w on w.id = r.workflow_id where w.concurrency_key in ('a', 'b');
select durable.housekeep('hk-w');
select results_eq($$ select distinct key from durable.run_slots where queue = 'hk-q' $$,
  $$ values ('c'::text) $$, 'housekeep deleted the slots of keys a and b (nothing runs), kept c''s');
select is((select count(*)::int from durable.run_slots where queue = 'hk-q' and key = 'c' and workflow_id is not null), 1,
  'c''s held slot is kept');
select durable.enqueue('wf', p_queue => 'hk-q', p_concurrency_key => 'a');
select is((select count(*)::int from durable.claim('hk-w', array['hk-q'], 10)), 1,
  'key a''s slots are made again by its next claim');

select * from finish();
rollback;
