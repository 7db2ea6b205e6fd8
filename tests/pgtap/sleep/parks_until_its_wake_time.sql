-- A sleep that is not due parks the run in the same call: status waiting, owner, owner_login
-- and lease cleared, run_at the wake time; the wait's terms are recorded (not a step yet). The
-- old lease is lost. At the wake time a claim takes it again and the sleep, reached again,
-- records its outcome {"slept_until": <the wake time>}; a replay returns the recorded one.
begin;
\ir ../waiting_fixtures.sql
select plan(15);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'sl');
select durable.checkpoint('sl', durable_test.lease_of('sl'), 0, 'before', '"a"');
select durable_test.lease_of('sl') as lease1 \gset

select results_eq(
  format($$ select parked from durable.sleep('sl', %s, 1, interval '1 hour') $$, :lease1),
  $$ values (true) $$, 'a sleep of an hour parks the run');
select is(durable_test.parked('sl'),
  'waiting owner=<null> login=<null> lease=<null> run_at=2030-01-01 01:00:00',
  'the run is waiting, without owner, login or lease, run_at at the wake time');
select results_eq(
  $$ select name, kind, deadline, created_at, parked_at, resolved_at, outcome
       from durable.waits where workflow_id = 'sl' $$,
  $$ values ('durable.sleep'::text, 'sleep'::text, durable_test.t0() + interval '1 hour',
             durable_test.t0(), durable_test.t0(), null::timestamptz, null::text) $$,
  'the wait is recorded at its position: a sleep until the wake time, parked now');
select is((select count(*)::int from durable.steps where workflow_id = 'sl' and step_id = 1), 0,
  'the sleep is not a recorded step yet');
select is((select count(*)::int from durable.heartbeat('worker-a')), 0,
  'the worker''s heartbeat no longer lists it: its slot is free');
select throws_ok(format($$ select * from durable.checkpoint('sl', %s, 1, 's', '1') $$, :lease1),
  'DU001', null, 'a checkpoint with the old lease raises DU001');
select throws_ok(format($$ select * from durable.sleep('sl', %s, 1, interval '1 hour') $$, :lease1),
  'DU001', null, 'the sleep called again with the old lease raises DU001');

select is((select count(*)::int from durable.claim('worker-b')), 0,
  'before its wake time nobody claims it');
select durable_test.advance(interval '1 hour');
select results_eq($$ select workflow_id, steps from durable.claim('worker-b') $$,
  $$ values ('sl'::text, '[{"step_id": 0, "name": "before", "output": "a", "error": null}]'::jsonb) $$,
  'at its wake time a claim takes it, with its recorded steps');
select durable_test.lease_of('sl') as lease2 \gset

select results_eq(
  format($$ select parked, (output ->> 'slept_until')::timestamptz
              from durable.sleep('sl', %s, 1, interval '1 hour') $$, :lease2),
  $$ values (false, durable_test.t0() + interval '1 hour') $$,
  'reached again, the sleep is over: parked false, slept_until the wake time');
select results_eq(
  $$ select name, (output ->> 'slept_until')::timestamptz, error from durable.steps
      where workflow_id = 'sl' and step_id = 1 $$,
  $$ values ('durable.sleep'::text, durable_test.t0() + interval '1 hour', null::jsonb) $$,
  'its outcome is recorded as the step at its position');
select results_eq(
  $$ select resolved_at, outcome from durable.waits where workflow_id = 'sl' $$,
  $$ values (durable_test.t0() + interval '1 hour', 'ready'::text) $$,
  'the wait is resolved, ready');
select is(durable_test.parked('sl'),
  format('running owner=worker-b login=%s lease=%s run_at=2030-01-01 01:00:00', session_user, :lease2),
  'the run goes on: running for worker-b under the same lease');

select durable_test.advance(interval '5 minutes');
select results_eq(
  format($$ select parked, (output ->> 'slept_until')::timestamptz
              from durable.sleep('sl', %s, 1, interval '1 hour') $$, :lease2),
  $$ values (false, durable_test.t0() + interval '1 hour') $$,
  'called again, it returns the recorded outcome');
select is((select count(*)::int from durable.steps where workflow_id = 'sl'), 2,
  'nothing more was recorded');

select * from finish();
rollback;
