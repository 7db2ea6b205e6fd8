-- DU011: a trace context that is not a W3C traceparent (version-traceid-parentid-flags in
-- lowercase hex; version ff and all-zero ids invalid), in enqueue and in enqueue_batch;
-- nothing is written. The column's CHECK holds the same rule.
begin;
select plan(11);

select durable.set_queue('tcr_q');
select throws_ok($$ select durable.enqueue('wf', p_queue => 'tcr_q', p_trace_context => 'not a trace') $$,
  'DU011', 'trace context ''not a trace'' is not a W3C traceparent', 'garbage raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_queue => 'tcr_q', p_trace_context => '') $$,
  'DU011', null, 'an empty string raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_queue => 'tcr_q',
  p_trace_context => '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01') $$,
  'DU011', null, 'uppercase hex raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_queue => 'tcr_q',
  p_trace_context => '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra') $$,
  'DU011', null, 'trailing fields raise DU011');
select throws_ok($$ select durable.enqueue('wf', p_queue => 'tcr_q',
  p_trace_context => 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01') $$,
  'DU011', 'trace context ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01: version ff is invalid',
  'version ff raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_queue => 'tcr_q',
  p_trace_context => '00-00000000000000000000000000000000-00f067aa0ba902b7-01') $$,
  'DU011', null, 'an all-zero trace id raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_queue => 'tcr_q',
  p_trace_context => '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01') $$,
  'DU011', null, 'an all-zero parent id raises DU011');
select throws_ok($$ select durable.enqueue_batch('[{"name": "wf", "queue": "tcr_q"},
  {"name": "wf", "queue": "tcr_q", "trace_context": "00-xyz"}]') $$,
  'DU011', null, 'in a batch too, and the whole batch is refused');
select throws_ok($$ select durable.enqueue_batch('[{"name": "wf", "queue": "tcr_q", "trace_context": 7}]') $$,
  'DU011', 'trace context ''7'' is not a W3C traceparent', 'a batch item whose trace_context is a number raises DU011');
select is((select count(*)::int from durable.workflows where queue = 'tcr_q'), 0, 'nothing was written');

select throws_ok($$ insert into durable.workflows (id, name, queue, run_at, created_at, trace_context)
  values ('tcr-direct', 'wf', 'tcr_q', now(), now(), '00-00000000000000000000000000000000-00f067aa0ba902b7-01') $$,
  '23514', null, 'the column''s CHECK refuses what the function refuses');

select * from finish();
rollback;
