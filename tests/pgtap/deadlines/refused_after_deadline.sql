-- Once the deadline has passed, a worker still running the workflow is refused with DU002 at
-- its next call, before any claim or heartbeat has cancelled it: checkpoint, complete, fail and
-- each wait or step of waiting. Nothing is recorded.
begin;
\ir ../waiting_fixtures.sql
select plan(10);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'rd', p_timeout => interval '1 hour');
select durable_test.claim_id('rd') as lease \gset
select durable.enqueue('wf', p_workflow_id => 'rd-dest');
select durable.checkpoint('rd', :lease, 0, 'before', '1');
select durable_test.advance(interval '1 hour');

select throws_ok(format($$ select * from durable.checkpoint('rd', %s, 1, 's', '1') $$, :lease),
  'DU002', null, 'checkpoint after the deadline raises DU002');
select throws_ok(format($$ select durable.complete('rd', %s, '1') $$, :lease),
  'DU002', null, 'complete raises DU002');
select throws_ok(format($$ select * from durable.fail('rd', %s, '{}') $$, :lease),
  'DU002', null, 'fail raises DU002');
select throws_ok(format($$ select * from durable.sleep('rd', %s, 1, interval '1 second') $$, :lease),
  'DU002', null, 'sleep raises DU002');
select throws_ok(format($$ select * from durable.recv('rd', %s, 1) $$, :lease),
  'DU002', null, 'recv raises DU002');
select throws_ok(format($$ select * from durable.await_event('rd', %s, 1, 'rd-dest', 'k') $$, :lease),
  'DU002', null, 'await_event raises DU002');
select throws_ok(format($$ select durable.send_step('rd', %s, 1, 'rd-dest', '1') $$, :lease),
  'DU002', null, 'send_step raises DU002');
select throws_ok(format($$ select durable.set_event('rd', %s, 1, 'k', '1') $$, :lease),
  'DU002', null, 'set_event raises DU002');
select throws_ok(format($$ select durable.start_child('rd', %s, 1, 'kid') $$, :lease),
  'DU002', null, 'start_child raises DU002');
select results_eq($$ select (select count(*)::int from durable.steps), (select count(*)::int from durable.workflows),
                            (select count(*)::int from durable.messages) + (select count(*)::int from durable.events) $$,
  $$ values (1, 2, 0) $$, 'nothing was recorded');

select * from finish();
rollback;
