-- durable.timeline: steps and errors of every run as one list of events.
begin;
select plan(2);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'vt');
select durable.checkpoint('vt', (select lease from durable.workflows where id = 'vt'), 0, 'one', '1');
select durable_test.advance(interval '1 second');
select durable.step_failed('vt', (select lease from durable.workflows where id = 'vt'), 1, 'two', '{"try": 1}', 2);
select durable_test.advance(interval '1 second');
select durable.step_failed('vt', (select lease from durable.workflows where id = 'vt'), 1, 'two', '{"try": 2}', 2);
select durable_test.advance(interval '1 second');
select durable.fail('vt', (select lease from durable.workflows where id = 'vt'), '{"m": "wf"}');

select results_eq(
  $$ select at, kind, step_id, name, attempt, detail, is_error from durable.timeline
      where workflow_id = 'vt' order by at, kind $$,
  $$ values (durable_test.t0(), 'step'::text, 0, 'one'::text, 1, '1'::jsonb, false),
            (durable_test.t0() + interval '1 second', 'step try failed', 1, 'two', 1, '{"try": 1}', true),
            (durable_test.t0() + interval '2 seconds', 'step try failed', 1, 'two', 1, '{"try": 2}', true),
            (durable_test.t0() + interval '3 seconds', 'attempt failed', null, null, 1, '{"m": "wf"}', true) $$,
  'the recorded step, both tries and the failed attempt (the errored step itself was removed for the retry)');

-- before the retry removes it, a step that ended in error is an error event of kind step
select * from durable_test.start(p_workflow_id => 'vt2');
select durable.checkpoint('vt2', (select lease from durable.workflows where id = 'vt2'), 0, 'bad', null, '{"m": 0}');
select results_eq(
  $$ select kind, step_id, detail, is_error from durable.timeline where workflow_id = 'vt2' order by kind $$,
  $$ values ('step'::text, 0, '{"m": 0}'::jsonb, true), ('step try failed', 0, '{"m": 0}', true) $$,
  'a step recorded with an error shows as an error step and as its failed try');

select * from finish();
rollback;
