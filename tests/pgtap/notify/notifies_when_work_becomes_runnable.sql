-- Workers LISTEN on durable_runnable: a committed enqueue of runnable work notifies once per
-- statement and queue (payload: the queue name); a delayed enqueue or one that rolls back
-- notifies nobody; release and retry (work pending again, now) notify; a retry scheduled for
-- later does not; a worker waits on both queues (its claim there found nothing: see
-- only_when_a_worker_waits.sql). Real sessions via dblink: one listens, one writes and commits. Notifications
-- arrive in commit order, so a missing one is proven missing by the one committed after it.
-- What the sessions commit is deleted at the end.
begin;
select plan(9);

select dblink_connect('nt_listen', durable_test.connstr());
select dblink_connect('nt_write', durable_test.connstr());
select dblink_exec('nt_listen', 'listen durable_runnable');
select durable_test.remote('nt_write', $$ select durable.set_queue('notify_q1') $$);
select durable_test.remote('nt_write', $$ select durable.set_queue('notify_q2') $$);
-- a worker whose claim on both queues found nothing: it waits for a wake-up there
select durable_test.remote('nt_write', $$ select * from durable.claim('nt-idle', array['notify_q1', 'notify_q2']) $$);
select durable_test.notifications('nt_listen', 'durable_runnable');

select durable_test.remote('nt_write', $$ select * from durable.enqueue('wf', p_queue => 'notify_q1', p_workflow_id => 'nt-1') $$);
select results_eq($$ select durable_test.notifications('nt_listen', 'durable_runnable', 1) $$,
  $$ values ('notify_q1'::text) $$, 'an enqueue notifies with the queue name');

select durable_test.remote('nt_write', $$ select * from durable.enqueue('wf', p_queue => 'notify_q1', p_delay => interval '1 hour', p_workflow_id => 'nt-2') $$);
select durable_test.remote('nt_write', $$ select * from durable.enqueue('wf', p_queue => 'notify_q2', p_workflow_id => 'nt-3') $$);
select results_eq($$ select durable_test.notifications('nt_listen', 'durable_runnable', 1) $$,
  $$ values ('notify_q2'::text) $$, 'a delayed enqueue notifies nobody (the next one does)');

select dblink_exec('nt_write', 'begin');
select durable_test.remote('nt_write', $$ select * from durable.enqueue('wf', p_queue => 'notify_q1', p_workflow_id => 'nt-4') $$);
select dblink_exec('nt_write', 'rollback');
select durable_test.remote('nt_write', $$ select * from durable.enqueue('wf', p_queue => 'notify_q2', p_workflow_id => 'nt-5') $$);
select results_eq($$ select durable_test.notifications('nt_listen', 'durable_runnable', 1) $$,
  $$ values ('notify_q2'::text) $$, 'an enqueue that rolls back notifies nobody');

select durable_test.remote('nt_write', $$ select * from durable.enqueue_batch('[
  {"name": "wf", "queue": "notify_q1", "workflow_id": "nt-6"},
  {"name": "wf", "queue": "notify_q2", "workflow_id": "nt-7"},
  {"name": "wf", "queue": "notify_q1", "workflow_id": "nt-8"},
  {"name": "wf", "queue": "notify_q2", "workflow_id": "nt-9", "delay": "1 hour"}]') $$);
select set_eq($$ select durable_test.notifications('nt_listen', 'durable_runnable', 2) $$,
  $$ values ('notify_q1'), ('notify_q2') $$, 'a batch notifies once per queue');

-- claim: no notification; release: the queue is notified
select durable_test.remote('nt_write', $$ select * from durable.claim('nt-worker', array['notify_q1'], 10) $$);
select durable_test.remote('nt_write', $$ select durable.release('nt-worker', array['nt-1']) $$);
select results_eq($$ select durable_test.notifications('nt_listen', 'durable_runnable', 1) $$,
  $$ values ('notify_q1'::text) $$, 'a claim notifies nobody, a release notifies the queue');

-- a failure retried later: nobody; durable.retry (runnable now): the queue
select durable_test.remote('nt_write', $$ select * from durable.fail('nt-6', (select lease from durable.workflows where id = 'nt-6'), '{}') $$);
select durable_test.remote('nt_write', $$ select durable.cancel('nt-8') $$);
select durable_test.remote('nt_write', $$ select * from durable.enqueue('wf', p_queue => 'notify_q2', p_workflow_id => 'nt-10') $$);
select results_eq($$ select durable_test.notifications('nt_listen', 'durable_runnable', 1) $$,
  $$ values ('notify_q2'::text) $$, 'a retry scheduled for later and a cancel notify nobody');
select durable_test.remote('nt_write', $$ select durable.retry('nt-8') $$);
select results_eq($$ select durable_test.notifications('nt_listen', 'durable_runnable', 1) $$,
  $$ values ('notify_q1'::text) $$, 'durable.retry notifies the queue');

select is((select count(*)::int from durable.workflows where id like 'nt-%'), 9,
  'the committed work is visible here: 9 workflows (nt-4 rolled back)');

-- clean up what was committed
select dblink_exec('nt_listen', 'unlisten *');
select durable_test.remote('nt_write', $$ select durable.release('nt-worker') $$);
select dblink_exec('nt_write', $$ delete from durable.workflows where queue in ('notify_q1', 'notify_q2') $$);
select dblink_exec('nt_write', $$ delete from durable.queues where name in ('notify_q1', 'notify_q2') $$);
select dblink_exec('nt_write', $$ delete from durable.workers where id in ('nt-worker', 'nt-idle') $$);
select is(
  (select n from dblink('nt_write', $$ select (select count(*) from durable.workflows where id like 'nt-%')
                                           + (select count(*) from durable.queues where name like 'notify_q%')
                                           + (select count(*) from durable.workers where id in ('nt-worker', 'nt-idle')) $$)
     as t(n bigint)), 0::bigint, 'the committed rows are cleaned up');
select dblink_disconnect('nt_listen');
select dblink_disconnect('nt_write');

select * from finish();
rollback;
