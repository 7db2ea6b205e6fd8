-- A recv with no message on its topic parks the run (waiting, owner, login and lease cleared,
-- run_at infinity without a timeout). A send on another topic leaves it waiting; a send on its
-- topic makes it pending, runnable now, in the same transaction. The next claim replays, the
-- recv reached again takes the message and records it: consumed by that step, exactly once.
begin;
\ir ../waiting_fixtures.sql
select plan(14);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'rw');
select durable_test.lease_of('rw') as lease1 \gset

select results_eq(format($$ select parked from durable.recv('rw', %s, 0, 'pay') $$, :lease1),
  $$ values (true) $$, 'a recv with nothing on its topic parks');
select is(durable_test.parked('rw'),
  'waiting owner=<null> login=<null> lease=<null> run_at=infinity',
  'waiting without owner, login or lease; run_at infinity (no timeout)');
select results_eq(
  $$ select name, kind, topic, deadline, created_at, parked_at, woken_at from durable.waits
      where workflow_id = 'rw' $$,
  $$ values ('durable.recv'::text, 'message'::text, 'pay'::text, null::timestamptz,
             durable_test.t0(), durable_test.t0(), null::timestamptz) $$,
  'the wait: a message on topic pay, no deadline, parked now');
select is((select count(*)::int from durable.claim('worker-b')), 0, 'nobody claims it');

select durable_test.advance(interval '1 minute');
select isnt(durable.send('rw', '{"other": 1}', 'other'), null::bigint, 'a send on another topic');
select is(durable_test.parked('rw'),
  'waiting owner=<null> login=<null> lease=<null> run_at=infinity',
  'leaves it waiting');
select durable_test.advance(interval '1 minute');
select durable.send('rw', '{"paid": 42}', 'pay') as msg \gset
select is(durable_test.parked('rw'),
  'pending owner=<null> login=<null> lease=<null> run_at=2030-01-01 00:02:00',
  'a send on its topic makes it pending, runnable now, in the same transaction');
select is((select woken_at from durable.waits where workflow_id = 'rw'),
  durable_test.t0() + interval '2 minutes', 'the wait says when it was woken');
select is((select consumed_at from durable.messages where id = :msg), null,
  'the message is not consumed by the wake-up');

select durable_test.advance(interval '1 minute');
select durable_test.claim_id('rw', 'worker-b') as lease2 \gset
select results_eq(format($$ select parked, output from durable.recv('rw', %s, 0, 'pay') $$, :lease2),
  format($$ values (false, '{"message": {"paid": 42}, "message_id": %s}'::jsonb) $$, :msg),
  'reached again, the recv returns the message and its id');
select results_eq(
  $$ select name, output -> 'message' from durable.steps where workflow_id = 'rw' and step_id = 0 $$,
  $$ values ('durable.recv'::text, '{"paid": 42}'::jsonb) $$, 'recorded as the step');
select results_eq(format($$ select consumed_at, consumed_step from durable.messages where id = %s $$, :msg),
  $$ values (durable_test.t0() + interval '3 minutes', 0) $$,
  'the message is consumed by step 0, now');
select results_eq($$ select resolved_at, outcome from durable.waits where workflow_id = 'rw' $$,
  $$ values (durable_test.t0() + interval '3 minutes', 'ready'::text) $$, 'the wait is resolved, ready');
select is((select count(*)::int from durable.messages where workflow_id = 'rw' and consumed_at is null), 1,
  'the message on the other topic is still there, unconsumed');

select * from finish();
rollback;
