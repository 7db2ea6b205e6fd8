-- With p_trace_context, start_child and start_children give the children that traceparent (the
-- span of the parent's worker that starts them, so the child's attempt span hangs under that
-- step, as a message's consumer under its producer) instead of the parent's own. Checked as
-- enqueue's (DU011 when malformed, nothing written); a replay of the step changes nothing.
begin;
select plan(8);

select durable.set_queue('tcs_q');
select durable.enqueue('parent', p_queue => 'tcs_q', p_workflow_id => 'tcs-p',
  p_trace_context => '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
select durable.enqueue('parent', p_queue => 'tcs_q', p_workflow_id => 'tcs-bare');
create temp table leases on commit drop as
  select workflow_id as id, lease from durable.claim('tcs-worker', array['tcs_q'], 2);

-- the step spans of the parent's worker (same trace, their own span ids)
select durable.start_child('tcs-p', (select lease from leases where id = 'tcs-p'), 0, 'kid',
  p_queue => 'tcs_q', p_child_id => 'tcs-kid',
  p_trace_context => '00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01');
select durable.start_children('tcs-p', (select lease from leases where id = 'tcs-p'), 1,
  '[{"name": "kid", "queue": "tcs_q", "workflow_id": "tcs-kid-2"},
    {"name": "kid", "queue": "tcs_q", "workflow_id": "tcs-kid-3"}]',
  p_trace_context => '00-4bf92f3577b34da6a3ce929d0e0e4736-2222222222222222-01');
-- a parent without a trace of its own, started by a traced step: the children take the step's
select durable.start_child('tcs-bare', (select lease from leases where id = 'tcs-bare'), 0, 'kid',
  p_queue => 'tcs_q', p_child_id => 'tcs-bare-kid',
  p_trace_context => '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-3333333333333333-01');

select is((select trace_context from durable.runs where id = 'tcs-kid'),
  '00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01', 'start_child: the starting span''s');
select results_eq($$ select trace_context from durable.runs where id in ('tcs-kid-2', 'tcs-kid-3') $$,
  $$ values ('00-4bf92f3577b34da6a3ce929d0e0e4736-2222222222222222-01'),
            ('00-4bf92f3577b34da6a3ce929d0e0e4736-2222222222222222-01') $$,
  'start_children: the starting span''s, for every child');
select is((select trace_context from durable.runs where id = 'tcs-bare-kid'),
  '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-3333333333333333-01',
  'a parent with no trace context: the starting span''s');

-- a replay of the step (another span, the same position) finds the child and changes nothing
select is(durable.start_child('tcs-p', (select lease from leases where id = 'tcs-p'), 0, 'kid',
  p_queue => 'tcs_q', p_child_id => 'tcs-kid',
  p_trace_context => '00-4bf92f3577b34da6a3ce929d0e0e4736-9999999999999999-01'),
  '{"workflow_id": "tcs-kid"}'::jsonb, 'a replay returns the recorded child');
select is((select trace_context from durable.runs where id = 'tcs-kid'),
  '00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01', 'and keeps its trace context');

-- malformed: refused before anything is written
select throws_ok($$ select durable.start_child('tcs-p', (select lease from leases where id = 'tcs-p'), 2, 'kid',
    p_queue => 'tcs_q', p_trace_context => 'not-a-traceparent') $$,
  'DU011', null, 'start_child: a malformed p_trace_context is DU011');
select throws_ok($$ select durable.start_children('tcs-p', (select lease from leases where id = 'tcs-p'), 2,
    '[{"name": "kid", "queue": "tcs_q"}]', p_trace_context => '00-00000000000000000000000000000000-1111111111111111-01') $$,
  'DU011', null, 'start_children: an all-zero trace id is DU011');
select is((select count(*)::int from durable.runs where parent_id = 'tcs-p'), 3,
  'the refused calls started no child');

select * from finish();
rollback;
