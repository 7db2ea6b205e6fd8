-- A NOTIFY is sent only for a queue some live worker waits on: one whose last claim there found
-- nothing (durable.workers.idle_queues). A claim that finds work clears it; a worker whose
-- heartbeat expired does not count. Regression (bench/enqueue_bench.sh): every enqueue
-- notified, and every notifying commit takes one server-wide lock, so single enqueues could
-- not commit in parallel. Real sessions via dblink; what they commit is deleted at the end.
begin;
select plan(6);

select dblink_connect('ow_listen', durable_test.connstr());
select dblink_connect('ow_write', durable_test.connstr());
select dblink_exec('ow_listen', 'listen durable_runnable');
select durable_test.remote('ow_write', $$ select durable.set_queue('ow_q') $$);
select durable_test.remote('ow_write', $$ select durable.set_queue('ow_other') $$);
select durable_test.remote('ow_write', $$ select durable.set_queue('ow_empty') $$);
select durable_test.notifications('ow_listen', 'durable_runnable');

-- nobody waits: no notification (the enqueue to ow_other after a waiter came proves it)
select durable_test.remote('ow_write', $$ select * from durable.enqueue('wf', p_queue => 'ow_q', p_workflow_id => 'ow-1') $$);
select durable_test.remote('ow_write', $$ select * from durable.claim('ow-waiter', array['ow_other']) $$);
select results_eq(
  $$ select k from dblink('ow_write', $q$ select idle_queues::text from durable.workers where id = 'ow-waiter' $q$) as t(k text) $$,
  $$ values ('{ow_other}'::text) $$, 'a claim that finds nothing marks its queues as waited on');
select durable_test.remote('ow_write', $$ select * from durable.enqueue('wf', p_queue => 'ow_other', p_workflow_id => 'ow-2') $$);
select results_eq($$ select durable_test.notifications('ow_listen', 'durable_runnable', 1) $$,
  $$ values ('ow_other'::text) $$,
  'an enqueue where nobody waits notifies nobody; one where a worker waits notifies');

-- the waiter's next claim finds work: it no longer waits, and nothing is sent for it
select durable_test.remote('ow_write', $$ select * from durable.claim('ow-waiter', array['ow_other']) $$);
select results_eq(
  $$ select k from dblink('ow_write', $q$ select coalesce(idle_queues::text, 'none') from durable.workers where id = 'ow-waiter' $q$) as t(k text) $$,
  $$ values ('none'::text) $$, 'a claim that finds work clears the mark');
select durable_test.remote('ow_write', $$ select * from durable.enqueue('wf', p_queue => 'ow_other', p_workflow_id => 'ow-3') $$);
-- a dead worker's mark does not count either (it waited on ow_q, then its heartbeat expired)
select durable_test.remote('ow_write', $$ select * from durable.claim('ow-dead', array['ow_empty']) $$);
select dblink_exec('ow_write', $$ update durable.workers set idle_queues = '{ow_q}',
  expires_at = now() - interval '1 minute' where id = 'ow-dead' $$);
select durable_test.remote('ow_write', $$ select * from durable.enqueue('wf', p_queue => 'ow_q', p_workflow_id => 'ow-4') $$);
-- a live worker that waits on ow_q and ow_empty: the next enqueue to ow_q notifies
select durable_test.remote('ow_write', $$ select * from durable.claim('ow-waiter2', array['ow_empty']) $$);
select dblink_exec('ow_write', $$ update durable.workers set idle_queues = '{ow_empty,ow_q}'
  where id = 'ow-waiter2' $$);
select durable_test.remote('ow_write', $$ select * from durable.enqueue('wf', p_queue => 'ow_q', p_workflow_id => 'ow-5') $$);
select results_eq($$ select durable_test.notifications('ow_listen', 'durable_runnable', 1) $$,
  $$ values ('ow_q'::text) $$,
  'no notification for a busy worker nor for a dead one: the first after them is for a live waiter');
select is((select count(*)::int from durable.workflows where id like 'ow-%'), 5,
  'all five workflows were committed');

-- clean up what was committed
select dblink_exec('ow_listen', 'unlisten *');
select dblink_exec('ow_write', $$ delete from durable.workflows where queue in ('ow_q', 'ow_other') $$);
select dblink_exec('ow_write', $$ delete from durable.queues where name in ('ow_q', 'ow_other', 'ow_empty') $$);
select dblink_exec('ow_write', $$ delete from durable.workers where id like 'ow-%' $$);
select is(
  (select n from dblink('ow_write', $$ select (select count(*) from durable.workflows where id like 'ow-%')
                                           + (select count(*) from durable.queues where name in ('ow_q', 'ow_other', 'ow_empty'))
                                           + (select count(*) from durable.workers where id like 'ow-%') $$)
     as t(n bigint)), 0::bigint, 'the committed rows are cleaned up');
select dblink_disconnect('ow_listen');
select dblink_disconnect('ow_write');

select * from finish();
rollback;
