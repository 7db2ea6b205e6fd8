-- Found by bench/wait_bench.py (issue 10), two cases of one kind: a claim and a row lock.
--   * A claim that found nothing wrote its worker's idle mark waiting for the worker row, after
--     it had taken family locks (a child's completion): two slots of one worker deadlocked.
--     The mark now skips a worker row another transaction holds: the claim does not wait.
--   * durable.watch locks the run's row (watched = true): a claim at that moment skipped the
--     pending run (skip locked) and its worker went idle until its next poll. watch now
--     notifies durable_runnable again for a pending run of a queue a worker is idle on.
-- Real sessions via dblink; what they commit is deleted at the end.
begin;
select plan(4);

select dblink_connect('cw_a', durable_test.connstr());
select dblink_connect('cw_b', durable_test.connstr());
select durable_test.remote('cw_a', $$ select durable.set_queue('cw_q') $$);
-- worker cw-w registered, its heartbeat fresh; its claim there finds nothing (idle mark set)
select durable_test.remote('cw_a', $$ select count(*) from durable.claim('cw-w', array['cw_q']) $$);
select dblink_exec('cw_a', $$ update durable.workers set idle_queues = null where id = 'cw-w' $$);

-- another transaction holds the worker row
select dblink_exec('cw_a', 'begin');
select dblink_exec('cw_a', $$ update durable.workers set busy = 1 where id = 'cw-w' $$);
select dblink_exec('cw_b', $$ set lock_timeout = '1s' $$);
select is(
  (select n from dblink('cw_b', $$ select count(*) from durable.claim('cw-w', array['cw_q']) $$)
     as t(n bigint)),
  0::bigint, 'a claim that finds nothing does not wait for its worker row held elsewhere');
select dblink_exec('cw_a', 'rollback');

-- watch: the worker idle on cw_q; a pending run there; watch notifies again at its commit
select durable_test.remote('cw_a', $$ select count(*) from durable.claim('cw-w', array['cw_q']) $$);
select durable_test.remote('cw_a', $$ select * from durable.enqueue('wf', p_queue => 'cw_q', p_workflow_id => 'cw-1') $$);
select dblink_exec('cw_b', 'listen durable_runnable');
select durable_test.notifications('cw_b', 'durable_runnable');
select durable_test.remote('cw_a', $$ select status from durable.watch('cw-1') $$);
select results_eq($$ select durable_test.notifications('cw_b', 'durable_runnable', 1) $$,
  $$ values ('cw_q'::text) $$, 'watch of a pending run notifies its idle queue again');
select durable_test.remote('cw_a', $$ select * from durable.claim('cw-other', array['cw_q']) $$);
select durable_test.remote('cw_a', $$ select status from durable.watch('cw-1') $$);
select durable_test.remote('cw_a', $$ select * from durable.enqueue('wf', p_queue => 'cw_q', p_workflow_id => 'cw-2') $$);
select results_eq($$ select durable_test.notifications('cw_b', 'durable_runnable', 1) $$,
  $$ values ('cw_q'::text) $$, 'not for a run already claimed (the next notification is the enqueue''s)');

select dblink_exec('cw_b', 'unlisten *');
select dblink_exec('cw_a', $$ delete from durable.workflows where queue = 'cw_q' $$);
select dblink_exec('cw_a', $$ delete from durable.workers where id in ('cw-w', 'cw-other') $$);
select dblink_exec('cw_a', $$ delete from durable.queues where name = 'cw_q' $$);
select is(
  (select n from dblink('cw_a', $$ select (select count(*) from durable.workflows where queue = 'cw_q')
                                        + (select count(*) from durable.queues where name = 'cw_q') $$)
     as t(n bigint)), 0::bigint, 'the committed rows are cleaned up');
select dblink_disconnect('cw_a');
select dblink_disconnect('cw_b');

select * from finish();
rollback;
