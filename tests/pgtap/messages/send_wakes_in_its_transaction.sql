-- The wake-up is part of the send's transaction: inside it the receiver is already pending;
-- when it rolls back, the receiver is still waiting and nobody is notified; when it commits, a
-- worker waiting on the receiver's queue gets NOTIFY durable_runnable (payload: the queue). A
-- send on another topic wakes nothing and notifies nobody. Real sessions via dblink:
-- notifications arrive in commit order, so a missing one is proven missing by the one after it.
-- What the sessions commit is deleted at the end.
begin;
\ir ../waiting_fixtures.sql
select plan(8);

select dblink_connect('sw_listen', durable_test.connstr());
select dblink_connect('sw_worker', durable_test.connstr());
select dblink_connect('sw_client', durable_test.connstr());
select dblink_exec('sw_listen', 'listen durable_runnable');
select durable_test.remote('sw_worker', $$ select durable.set_queue('sw_q') $$);
select durable_test.remote('sw_worker', $$ select * from durable.enqueue('wf', p_queue => 'sw_q', p_workflow_id => 'sw-1') $$);
select is(durable_test.remote_value('sw_worker', $$
  select r.parked::text
    from durable.claim('sw-worker', array['sw_q']) c, durable.recv(c.workflow_id, c.lease, 0, 't') r $$),
  'true', 'the receiver parks on topic t');
-- a worker whose claim found nothing waits on sw_q
select durable_test.remote('sw_worker', $$ select * from durable.claim('sw-idle', array['sw_q']) $$);
select durable_test.notifications('sw_listen', 'durable_runnable');

select durable_test.remote('sw_client', $$ select durable.send('sw-1', '"x"', 'other') $$);
select dblink_exec('sw_client', 'begin');
select durable_test.remote('sw_client', $$ select durable.send('sw-1', '"t"', 't') $$);
select is(durable_test.remote_value('sw_client', $$ select status from durable.workflows where id = 'sw-1' $$),
  'pending', 'inside the send''s transaction the receiver is pending');
select is((select status from durable.workflows where id = 'sw-1'), 'waiting',
  'outside it, still waiting until it commits');
select dblink_exec('sw_client', 'rollback');
select results_eq($$ select status, (select count(*)::int from durable.messages m where m.workflow_id = 'sw-1')
                      from durable.workflows where id = 'sw-1' $$,
  $$ values ('waiting'::text, 1) $$, 'rolled back: still waiting, only the other topic''s message');

select durable_test.remote('sw_client', $$ select durable.send('sw-1', '"t"', 't') $$);
select results_eq($$ select durable_test.notifications('sw_listen', 'durable_runnable', 1) $$,
  $$ values ('sw_q'::text) $$,
  'one notification, for the committed send on its topic (none for the other topic nor the rollback)');
select is((select status from durable.workflows where id = 'sw-1'), 'pending',
  'committed: the receiver is pending');
select is(durable_test.remote_value('sw_worker', $$
  select r.output ->> 'message'
    from durable.claim('sw-idle', array['sw_q']) c, durable.recv(c.workflow_id, c.lease, 0, 't') r $$),
  't', 'the idle worker claims it and the recv takes the message');

-- clean up what was committed
select dblink_exec('sw_listen', 'unlisten *');
select dblink_exec('sw_worker', $$ delete from durable.workflows where queue = 'sw_q' $$);
select dblink_exec('sw_worker', $$ delete from durable.queues where name = 'sw_q' $$);
select dblink_exec('sw_worker', $$ delete from durable.workers where id like 'sw-%' $$);
select is(durable_test.remote_value('sw_worker', $$
  select (select count(*) from durable.workflows where id like 'sw-%')
       + (select count(*) from durable.messages where workflow_id like 'sw-%')
       + (select count(*) from durable.queues where name = 'sw_q')
       + (select count(*) from durable.workers where id like 'sw-%') $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('sw_listen');
select dblink_disconnect('sw_worker');
select dblink_disconnect('sw_client');

select * from finish();
rollback;
