-- set_event sends NOTIFY durable_event with payload {"workflow_id": ..., "key": ...} when its
-- transaction commits (clients' get_event waits with LISTEN); a set_event that rolls back, or
-- a replay of a recorded one, sends nothing. Real sessions via dblink; what they commit is
-- deleted at the end.
begin;
\ir ../waiting_fixtures.sql
select plan(4);

select dblink_connect('ne_listen', durable_test.connstr());
select dblink_connect('ne_worker', durable_test.connstr());
select dblink_exec('ne_listen', 'listen durable_event');
select durable_test.remote('ne_worker', $$ select durable.set_queue('ne_q') $$);
select durable_test.remote('ne_worker', $$ select * from durable.enqueue('wf', p_queue => 'ne_q', p_workflow_id => 'ne-1') $$);
select durable_test.remote('ne_worker', $$ select * from durable.claim('ne-worker', array['ne_q']) $$);
select durable_test.notifications('ne_listen', 'durable_event');

select dblink_exec('ne_worker', 'begin');
select durable_test.remote('ne_worker', $$
  select durable.set_event('ne-1', (select lease from durable.workflows where id = 'ne-1'), 0, 'rolled', '1') $$);
select dblink_exec('ne_worker', 'rollback');
select durable_test.remote('ne_worker', $$
  select durable.set_event('ne-1', (select lease from durable.workflows where id = 'ne-1'), 0, 'status', '"a"') $$);
select results_eq(
  $$ select n::jsonb from durable_test.notifications('ne_listen', 'durable_event', 1) n $$,
  $$ values ('{"workflow_id": "ne-1", "key": "status"}'::jsonb) $$,
  'a committed set_event notifies with the workflow id and the key (none for the rolled back one)');

select durable_test.remote('ne_worker', $$
  select durable.set_event('ne-1', (select lease from durable.workflows where id = 'ne-1'), 0, 'status', '"a"') $$);
select durable_test.remote('ne_worker', $$
  select durable.set_event('ne-1', (select lease from durable.workflows where id = 'ne-1'), 1, 'other', '"b"') $$);
select results_eq(
  $$ select n::jsonb from durable_test.notifications('ne_listen', 'durable_event', 1) n $$,
  $$ values ('{"workflow_id": "ne-1", "key": "other"}'::jsonb) $$,
  'a replay of a recorded set_event notifies nobody (the next one does)');
select is((select count(*)::int from durable.events where workflow_id = 'ne-1'), 2,
  'two events were committed');

-- clean up what was committed
select dblink_exec('ne_listen', 'unlisten *');
select dblink_exec('ne_worker', $$ delete from durable.workflows where queue = 'ne_q' $$);
select dblink_exec('ne_worker', $$ delete from durable.queues where name = 'ne_q' $$);
select dblink_exec('ne_worker', $$ delete from durable.workers where id = 'ne-worker' $$);
select is(durable_test.remote_value('ne_worker', $$
  select (select count(*) from durable.workflows where id like 'ne-%')
       + (select count(*) from durable.queues where name = 'ne_q')
       + (select count(*) from durable.workers where id = 'ne-worker') $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('ne_listen');
select dblink_disconnect('ne_worker');

select * from finish();
rollback;
