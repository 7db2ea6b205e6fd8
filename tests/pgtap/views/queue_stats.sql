-- durable.queue_stats: every queue with its settings and counts of pending (runnable now),
-- running and waiting workflows (finished ones not counted), the oldest pending run_at, and the
-- workflows scheduled for later apart (regression: a delayed run counted as pending, and the
-- oldest pending time was in the future).
begin;
select plan(1);
select durable_test.pin();
select durable.set_queue('qs', 4, true);
select durable.set_queue('empty');

select durable_test.make('w1', 'waiting', p_queue => 'qs');
select * from durable_test.start(p_workflow_id => 'r1');
select durable.enqueue('wf', p_workflow_id => 'p1', p_run_at => durable_test.t0() - interval '1 hour');
select durable.enqueue('wf', p_workflow_id => 'p2');
select durable.enqueue('wf', p_queue => 'qs', p_workflow_id => 'p3', p_delay => interval '1 minute');
select durable_test.make('s1', 'succeeded');
select durable_test.make('f1', 'failed', p_queue => 'qs');

select results_eq(
  $$ select queue, concurrency, paused, pending, running, waiting, oldest_pending, scheduled,
            next_scheduled from durable.queue_stats order by queue $$,
  $$ values ('default'::text, null::integer, false, 2::bigint, 1::bigint, 0::bigint,
             durable_test.t0() - interval '1 hour', 0::bigint, null::timestamptz),
            ('empty', null, false, 0, 0, 0, null, 0, null),
            ('qs', 4, true, 0, 0, 1, null, 1, durable_test.t0() + interval '1 minute') $$,
  'counts per queue; empty queues are listed; finished workflows are not counted');

select * from finish();
rollback;
