-- A recv with a timeout parks with run_at its deadline (now + timeout, fixed the first time
-- the run reaches it: reached again later it keeps that deadline). When the deadline passes
-- the claim takes the run again, and the recv records {"timed_out": true} (outcome
-- timed_out); a message sent afterwards stays unconsumed for a later recv. A zero timeout
-- with no message times out at once.
begin;
\ir ../waiting_fixtures.sql
select plan(11);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'to');
select results_eq(
  format($$ select parked from durable.recv('to', %s, 0, 'confirm', interval '1 hour') $$, durable_test.lease_of('to')),
  $$ values (true) $$, 'a recv with a timeout of an hour parks');
select is(durable_test.parked('to'),
  'waiting owner=<null> login=<null> lease=<null> run_at=2030-01-01 01:00:00',
  'run_at is the deadline');
select is((select deadline from durable.waits where workflow_id = 'to'),
  durable_test.t0() + interval '1 hour', 'the wait''s deadline is now + 1 hour');

-- reached again 30 minutes later (cancelled and retried): the deadline stays
select durable_test.advance(interval '30 minutes');
select durable.cancel('to');
select durable.retry('to');
select durable_test.claim_id('to') as lease2 \gset
select results_eq(format($$ select parked from durable.recv('to', %s, 0, 'confirm', interval '1 hour') $$, :lease2),
  $$ values (true) $$, 'reached again before its deadline, it parks again');
select is(durable_test.parked('to'),
  'waiting owner=<null> login=<null> lease=<null> run_at=2030-01-01 01:00:00',
  'with the first deadline, not now + 1 hour');

select durable_test.advance(interval '30 minutes');
select durable_test.claim_id('to', 'worker-b') as lease3 \gset
select results_eq(format($$ select parked, output from durable.recv('to', %s, 0, 'confirm', interval '1 hour') $$, :lease3),
  $$ values (false, '{"timed_out": true}'::jsonb) $$,
  'at the deadline the recv records that it timed out');
select results_eq($$ select resolved_at, outcome from durable.waits where workflow_id = 'to' $$,
  $$ values (durable_test.t0() + interval '1 hour', 'timed_out'::text) $$, 'the wait''s outcome is timed_out');

select durable.send('to', '"late"', 'confirm');
select results_eq(format($$ select parked, output from durable.recv('to', %s, 0, 'confirm', interval '1 hour') $$, :lease3),
  $$ values (false, '{"timed_out": true}'::jsonb) $$, 'called again after a message came: still timed out');
select is((select count(*)::int from durable.messages where consumed_at is null), 1,
  'the late message is not consumed');
select results_eq(format($$ select output ->> 'message' from durable.recv('to', %s, 1, 'confirm', interval '1 hour') $$, :lease3),
  $$ values ('late'::text) $$, 'a later recv takes it');

select results_eq(format($$ select parked, output from durable.recv('to', %s, 2, 'confirm', interval '0') $$, :lease3),
  $$ values (false, '{"timed_out": true}'::jsonb) $$, 'a zero timeout with no message times out at once');

select * from finish();
rollback;
