-- durable.runs.duration runs from the first claim (started_at) to the end, so a delay before a
-- run may start is not counted; run_at shows when a delayed run will start. Regression: a run
-- enqueued with a one-hour delay that ran one second showed a duration of one hour and a second.
begin;
select plan(3);
select durable_test.pin();

select durable.set_queue('dur_q');
select durable.enqueue('wf', p_queue => 'dur_q', p_workflow_id => 'delayed', p_delay => interval '1 hour');
select results_eq($$ select status, run_at, started_at from durable.runs where id = 'delayed' $$,
  $$ values ('pending'::text, durable_test.t0() + interval '1 hour', null::timestamptz) $$,
  'a delayed run shows when it will start, and has not started');
select durable_test.advance(interval '1 hour');
select durable.claim('dur-worker', array['dur_q']);
select durable_test.advance(interval '1 second');
select durable.complete('delayed', (select lease from durable.workflows where id = 'delayed'));
select results_eq(
  $$ select started_at, duration, duration_meta from durable.runs r
       join (select id, duration as duration_meta from durable.runs_meta) m using (id)
      where id = 'delayed' $$,
  $$ values (durable_test.t0() + interval '1 hour', interval '1 second', interval '1 second') $$,
  'duration: from the first claim to the end, in runs and runs_meta');
select is((select claims from durable.runs where id = 'delayed'), 1, 'claimed once');

select * from finish();
rollback;
