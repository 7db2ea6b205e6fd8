-- Found by the fault property's review (issue 10): a wait, or a step the SQL records itself,
-- at a position where a step of the same name is recorded as failed answered as if it had
-- succeeded (parked = false, output null): durable.recorded_outcome read only the output. A
-- wait or send_step never records an error, so such a step is not theirs: DU005.
begin;
select plan(3);
select durable_test.pin();

select * from durable.enqueue('w', p_workflow_id => 'wf');
select lease from durable.claim('wk') \gset
select * from durable.checkpoint('wf', :lease, 0, 'durable.recv', null, '{"type": "Boom"}');

select throws_ok(format($$ select * from durable.recv('wf', %s, 0) $$, :lease), 'DU005', null,
  'a recv where its name is recorded as failed raises DU005');
select throws_ok(format($$ select durable.send_step('wf', %s, 0, 'wf', '1', p_name => 'durable.recv') $$, :lease),
  'DU005', null, 'so does send_step');
select is((select count(*)::int from durable.waits), 0, 'and nothing was written');

select * from finish();
rollback;
