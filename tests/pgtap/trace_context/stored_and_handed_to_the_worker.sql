-- enqueue's p_trace_context and enqueue_batch's trace_context are stored with the run
-- (durable.runs, runs_meta) and handed to the worker by claim and complete_and_claim; a reused
-- id keeps the first run's; without one, null everywhere.
begin;
select plan(9);

select durable.set_queue('tc_q');
select durable.enqueue('wf', p_queue => 'tc_q', p_workflow_id => 'tc-1',
  p_trace_context => '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
select is((select trace_context from durable.runs where id = 'tc-1'),
  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'enqueue stores the traceparent');
select is((select trace_context from durable.runs_meta where id = 'tc-1'),
  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'the observer''s view shows it');

select durable.enqueue('wf', p_queue => 'tc_q', p_workflow_id => 'tc-1',
  p_trace_context => '00-11111111111111111111111111111111-2222222222222222-00');
select is((select trace_context from durable.runs where id = 'tc-1'),
  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'a reused id keeps the first run''s');

select durable.enqueue('wf', p_queue => 'tc_q', p_workflow_id => 'tc-2');
select is((select trace_context from durable.runs where id = 'tc-2'), null, 'none by default');

select durable.enqueue_batch('[{"name": "wf", "queue": "tc_q", "workflow_id": "tc-3",
  "trace_context": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"},
  {"name": "wf", "queue": "tc_q", "workflow_id": "tc-4"}]');
select results_eq($$ select id, trace_context from durable.runs where id in ('tc-3', 'tc-4') order by id $$,
  $$ values ('tc-3', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00'), ('tc-4', null) $$,
  'enqueue_batch stores each item''s trace_context');

select results_eq(
  $$ select workflow_id, trace_context from durable.claim('tc-worker', array['tc_q'], 2) order by 1 $$,
  $$ values ('tc-1', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), ('tc-2', null) $$,
  'claim hands each run''s trace context to the worker');

create temp table leases on commit drop as
  select id, lease from durable.workflows where id in ('tc-1', 'tc-2');
select results_eq(
  $$ select workflow_id, trace_context from durable.complete_and_claim('tc-1',
       (select lease from leases where id = 'tc-1'), '1', 'tc-worker', array['tc_q'], 1) $$,
  $$ values ('tc-3', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00') $$,
  'complete_and_claim hands it too');
select results_eq(
  $$ select completed, workflow_id, trace_context from durable.complete_and_claim('tc-2',
       (select lease from leases where id = 'tc-2'), '1', 'tc-worker', array['tc_q'], 0) $$,
  $$ values ('succeeded', null::text, null::text) $$,
  'its row when nothing is claimed has a null trace context');

-- a reclaim from a dead worker hands it again
update durable.workers set expires_at = durable.now() - interval '1 second' where id = 'tc-worker';
select results_eq(
  $$ select workflow_id, trace_context from durable.claim('tc-worker-2', array['tc_q'], 1) $$,
  $$ values ('tc-3', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00') $$,
  'a reclaimed run comes with its trace context');

select * from finish();
rollback;
