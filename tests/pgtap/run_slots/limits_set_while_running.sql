-- A limit set or lowered while workflows run counts them: set_queue (and an update of
-- durable.settings.max_running, through its trigger) gives each run running without a slot one
-- above the limit, and claims then count the held slots until the runs finish.
begin;
select plan(10);
select durable_test.pin();
select durable.set_queue('ls-q');
select durable.enqueue('wf', p_queue => 'ls-q') from generate_series(1, 6);
create temp table r as select workflow_id, lease from durable.claim('ls-w', array['ls-q'], 3);
select is((select count(*)::int from r), 3, 'no limit: 3 run');

select durable.set_queue('ls-q', 2);
select is((select count(*)::int from durable.run_slots where queue = 'ls-q' and workflow_id is not null), 3,
  'set_queue counted the 3 running runs in');
select is((select count(*)::int from durable.claim('ls-w', array['ls-q'], 3)), 0, 'limit 2 with 3 running: none more');
select durable.complete(workflow_id, lease, '1') from r where workflow_id = (select min(workflow_id) from r);
select is((select count(*)::int from durable.claim('ls-w', array['ls-q'], 3)), 0, '2 running: still none');
select durable.complete(workflow_id, lease, '1') from r where workflow_id = (select max(workflow_id) from r);
select is((select count(*)::int from durable.claim('ls-w', array['ls-q'], 3)), 1, '1 running: one more');

-- lowered from 2 to 1 with 2 running
select durable.set_queue('ls-q', 1);
select is((select count(*)::int from durable.claim('ls-w', array['ls-q'], 3)), 0, 'lowered to 1 with 2 running: none');

-- max_running across queues, set with 2 running in ls-q
select durable.set_queue('ls-q', 0);
select durable.enqueue('wf', p_queue => 'default') from generate_series(1, 3);
update durable.settings set max_running = 3;
select is((select count(*)::int from durable.run_slots where queue = '' and key = '' and workflow_id is not null), 2,
  'the trigger counted the 2 running runs in');
select is((select count(*)::int from durable.claim('ls-w', array['default', 'ls-q'], 10)), 1,
  'max_running 3 with 2 running: one more, whatever the queue');
select is((select count(*)::int from durable.claim('ls-w', array['default', 'ls-q'], 10)), 0, 'then none');
update durable.settings set max_running = null;
select cmp_ok((select count(*)::int from durable.claim('ls-w', array['default', 'ls-q'], 10)), '>=', 2,
  'max_running null: no such limit');

select * from finish();
rollback;
