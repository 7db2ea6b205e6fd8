-- A client that locks a workflow's row and sits idle in its transaction (`begin; select
-- durable.cancel(id);`) does not stall the worker: every worker function waits at most its
-- lock_timeout (2 s) and raises 55P03, writing nothing; once the lock is gone the same call
-- goes through. Session A (dblink) holds the lock; session B (dblink) made the committed rows;
-- the calls run here, under a statement_timeout that would turn a wait without bound into
-- 57014 instead of hanging the suite.
begin;
select plan(10);

select is_empty(
  $$ select p.oid::regprocedure from pg_proc p
      where p.pronamespace = 'durable'::regnamespace
        and p.proname in ('claim', 'checkpoint', 'step_failed', 'complete', 'complete_batch',
                          'complete_and_claim', 'fail', 'fail_batch', 'heartbeat', 'release')
        and not coalesce('lock_timeout=2s' = any (p.proconfig), false) $$,
  'every function a worker calls runs with lock_timeout = 2s');

select dblink_connect('lt_a', durable_test.connstr());
select dblink_connect('lt_b', durable_test.connstr());
select durable_test.remote('lt_b', $$ select durable.set_queue('lock_timeout_q') $$);
select durable_test.remote('lt_b', $$
  select * from durable.enqueue('wf', p_queue => 'lock_timeout_q', p_workflow_id => 'lock-timeout-1') $$);
create temp table lt_claim as
select * from dblink('lt_b', $$ select workflow_id, lease from durable.claim('lt-worker',
                                 array['lock_timeout_q']) $$) as t(workflow_id text, lease bigint);

-- A: an open transaction that has cancelled the workflow and sits idle
select dblink_exec('lt_a', 'begin');
select is(
  (select status from dblink('lt_a', $$ select durable.cancel('lock-timeout-1') $$) as t(status text)),
  'cancelled', 'session A cancels the running workflow in a transaction it leaves open');

set local statement_timeout = '6s';
select is(durable_test.sqlstate(format(
  $$ select * from durable.checkpoint('lock-timeout-1', %s, 0, 's', '1') $$,
  (select lease from lt_claim))), '55P03', 'checkpoint gives up with 55P03 instead of waiting');
select is(durable_test.sqlstate(format(
  $$ select * from durable.step_failed('lock-timeout-1', %s, 0, 's', '{"message": "x"}') $$,
  (select lease from lt_claim))), '55P03', 'step_failed gives up with 55P03');
select is(durable_test.sqlstate(format(
  $$ select durable.complete('lock-timeout-1', %s, '1') $$,
  (select lease from lt_claim))), '55P03', 'complete gives up with 55P03');
select is(durable_test.sqlstate(format(
  $$ select * from durable.complete_and_claim('lock-timeout-1', %s, '1', 'lt-worker',
       array['lock_timeout_q']) $$,
  (select lease from lt_claim))), '55P03', 'complete_and_claim gives up with 55P03');
select is(durable_test.sqlstate(format(
  $$ select * from durable.fail('lock-timeout-1', %s, '{"message": "x"}') $$,
  (select lease from lt_claim))), '55P03', 'fail gives up with 55P03');
select is(durable_test.sqlstate($$ select durable.release('lt-worker') $$), '55P03',
  'release gives up with 55P03');

-- A commits its cancel: the worker's next call learns it at once
select dblink_exec('lt_a', 'commit');
select is(durable_test.sqlstate(format(
  $$ select * from durable.checkpoint('lock-timeout-1', %s, 0, 's', '1') $$,
  (select lease from lt_claim))), 'DU002', 'once the lock is gone, checkpoint answers: cancelled');
select is(durable_test.sqlstate($$ select durable.release('lt-worker') $$), 'ok',
  'and release goes through');

-- clean up what the sessions committed
select dblink_exec('lt_b', $$ delete from durable.workflows where queue = 'lock_timeout_q' $$);
select dblink_exec('lt_b', $$ delete from durable.queues where name = 'lock_timeout_q' $$);
select dblink_exec('lt_b', $$ delete from durable.workers where id = 'lt-worker' $$);
select dblink_disconnect('lt_a');
select dblink_disconnect('lt_b');

select * from finish();
rollback;
