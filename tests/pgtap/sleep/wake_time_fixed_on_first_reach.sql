-- A sleep's wake time is fixed the first time the run reaches it: when the run is reached again
-- later (a retry after a cancel, a reclaim after a lost lease), the same sleep with the same or
-- another duration keeps the first wake time, and its outcome says that time.
begin;
\ir ../waiting_fixtures.sql
select plan(7);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'sf');
select results_eq(
  format($$ select parked from durable.sleep('sf', %s, 0, interval '1 hour') $$, durable_test.lease_of('sf')),
  $$ values (true) $$, 'a sleep of an hour parks at t0');

-- reached again 30 minutes later, through a cancel and a retry
select durable_test.advance(interval '30 minutes');
select durable.cancel('sf');
select durable.retry('sf');
select durable_test.claim_id('sf') as lease2 \gset
select results_eq(
  format($$ select parked from durable.sleep('sf', %s, 0, interval '1 hour') $$, :lease2),
  $$ values (true) $$, 'reached again before the wake time, it parks again');
select is(durable_test.parked('sf'),
  'waiting owner=<null> login=<null> lease=<null> run_at=2030-01-01 01:00:00',
  'the wake time is still t0 + 1 hour, not now + 1 hour');
select results_eq($$ select deadline, created_at from durable.waits where workflow_id = 'sf' $$,
  $$ values (durable_test.t0() + interval '1 hour', durable_test.t0()) $$,
  'the wait keeps its first terms and its first reach');

-- at the wake time worker-b claims it, and loses its lease before it gets to the sleep
select durable_test.advance(interval '30 minutes');
select durable_test.claim_id('sf', 'worker-b') as lease3 \gset
select durable_test.advance(interval '2 hours');
select durable_test.claim_id('sf', 'worker-c') as lease4 \gset
select results_eq(
  format($$ select parked, (output ->> 'slept_until')::timestamptz
              from durable.sleep('sf', %s, 0, interval '3 hours') $$, :lease4),
  $$ values (false, durable_test.t0() + interval '1 hour') $$,
  'reached after the wake time with another duration: over, slept until the first wake time');
select throws_ok(format($$ select * from durable.sleep('sf', %s, 0, interval '1 hour') $$, :lease3),
  'DU001', null, 'the lease lost meanwhile raises DU001');
select is((select count(*)::int from durable.steps where workflow_id = 'sf'), 1,
  'the sleep is recorded once');

select * from finish();
rollback;
