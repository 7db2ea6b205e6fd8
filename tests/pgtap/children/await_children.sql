-- durable.await_children: children not all finished park the parent (waiting, owner, login and
-- lease cleared, run_at the deadline or infinity); the last awaited child to finish makes it
-- pending in the same transaction, not an earlier one. Reached again, the wait records each
-- child's workflow_id, status, output and error, in the order given. Children all finished
-- already: recorded at once. A timeout: at the deadline, the children as they are then
-- (output and error null for unfinished ones) and "timed_out": true.
begin;
\ir ../waiting_fixtures.sql
select plan(13);
select durable_test.pin();
select durable.set_queue('ac_parents');

select * from durable_test.start(p_workflow_id => 'ap', p_queue => 'ac_parents');
select durable_test.lease_of('ap') as lease \gset
select durable.start_child('ap', :lease, 0, 'kid', '"zero"', p_queue => 'default');
select durable.start_child('ap', :lease, 1, 'kid', '"one"', p_queue => 'default');

select results_eq(format($$ select parked from durable.await_children('ap', %s, 2, array['ap-1', 'ap-0']) $$, :lease),
  $$ values (true) $$, 'awaiting two unfinished children parks the parent');
select is(durable_test.parked('ap'),
  'waiting owner=<null> login=<null> lease=<null> run_at=infinity',
  'waiting without owner, login or lease; run_at infinity (no timeout)');
select results_eq($$ select name, kind, children, deadline from durable.waits where workflow_id = 'ap' and step_id = 2 $$,
  $$ values ('durable.await_children'::text, 'children'::text, array['ap-1', 'ap-0'], null::timestamptz) $$,
  'the wait lists the children');

-- the children run on worker-k
select count(*) from durable.claim('worker-k', array['default'], 10);
select durable_test.advance(interval '1 minute');
select durable.complete('ap-0', durable_test.lease_of('ap-0'), '"zero done"');
select is((select status from durable.workflows where id = 'ap'), 'waiting',
  'one child finished: the parent still waits');
select durable_test.advance(interval '1 minute');
select * from durable.fail('ap-1', durable_test.lease_of('ap-1'), '{"message": "boom"}', false);
select is(durable_test.parked('ap'),
  'pending owner=<null> login=<null> lease=<null> run_at=2030-01-01 00:02:00',
  'the last one finished: the parent is pending, runnable now');

select durable_test.claim_id('ap', 'worker-b', 'ac_parents') as lease2 \gset
select results_eq(format($$ select parked, output from durable.await_children('ap', %s, 2, array['ap-1', 'ap-0']) $$, :lease2),
  $$ values (false, '{"children": [
       {"workflow_id": "ap-1", "status": "failed", "output": null, "error": {"message": "boom"}},
       {"workflow_id": "ap-0", "status": "succeeded", "output": "zero done", "error": null}]}'::jsonb) $$,
  'reached again, it records each child''s outcome in the order given');
select results_eq($$ select resolved_at, outcome from durable.waits where workflow_id = 'ap' and step_id = 2 $$,
  $$ values (durable_test.t0() + interval '2 minutes', 'ready'::text) $$, 'the wait is resolved, ready');
select is((select name from durable.steps where workflow_id = 'ap' and step_id = 2), 'durable.await_children',
  'recorded as the step');

-- all finished already: at once
select results_eq(format($$ select parked, output -> 'children' -> 0 ->> 'status' from durable.await_children('ap', %s, 3, array['ap-0']) $$, :lease2),
  $$ values (false, 'succeeded'::text) $$, 'children all finished already: recorded at once, not parked');
select is(durable_test.parked('ap'),
  format('running owner=worker-b login=%s lease=%s run_at=2030-01-01 00:02:00', session_user, :lease2),
  'the parent goes on under its lease');

-- a timeout
select durable.start_child('ap', :lease2, 4, 'kid', '"four"', p_queue => 'default');
select results_eq(format($$ select parked from durable.await_children('ap', %s, 5, array['ap-4', 'ap-0'], interval '1 hour') $$, :lease2),
  $$ values (true) $$, 'a wait with a timeout parks');
select is(durable_test.parked('ap'),
  'waiting owner=<null> login=<null> lease=<null> run_at=2030-01-01 01:02:00',
  'run_at is the deadline');
select durable_test.advance(interval '1 hour');
select durable_test.claim_id('ap', 'worker-b', 'ac_parents') as lease3 \gset
select results_eq(format($$ select parked, output from durable.await_children('ap', %s, 5, array['ap-4', 'ap-0'], interval '1 hour') $$, :lease3),
  $$ values (false, '{"children": [
       {"workflow_id": "ap-4", "status": "pending", "output": null, "error": null},
       {"workflow_id": "ap-0", "status": "succeeded", "output": "zero done", "error": null}],
       "timed_out": true}'::jsonb) $$,
  'at the deadline: the children as they are and timed_out');

select * from finish();
rollback;
