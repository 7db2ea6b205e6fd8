-- start_child and start_children give the children the parent's trace context (their worker's
-- spans join the parent's trace); a parent without one has children without one.
begin;
select plan(3);

select durable.set_queue('tcc_q');
select durable.enqueue('parent', p_queue => 'tcc_q', p_workflow_id => 'tcc-p',
  p_trace_context => '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
select durable.enqueue('parent', p_queue => 'tcc_q', p_workflow_id => 'tcc-bare');
create temp table leases on commit drop as
  select workflow_id as id, lease from durable.claim('tcc-worker', array['tcc_q'], 2);

select durable.start_child('tcc-p', (select lease from leases where id = 'tcc-p'), 0, 'kid',
  p_queue => 'tcc_q', p_child_id => 'tcc-kid');
select durable.start_children('tcc-p', (select lease from leases where id = 'tcc-p'), 1,
  '[{"name": "kid", "queue": "tcc_q", "workflow_id": "tcc-kid-2"}]');
select durable.start_child('tcc-bare', (select lease from leases where id = 'tcc-bare'), 0, 'kid',
  p_queue => 'tcc_q', p_child_id => 'tcc-bare-kid');

select is((select trace_context from durable.runs where id = 'tcc-kid'),
  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'start_child: the parent''s');
select is((select trace_context from durable.runs where id = 'tcc-kid-2'),
  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'start_children: the parent''s');
select is((select trace_context from durable.runs where id = 'tcc-bare-kid'), null,
  'none when the parent has none');

select * from finish();
rollback;
