-- A recv whose topic already has a message takes it in the same call (one round trip): not
-- parked, the message and its id recorded as the step, the message consumed by that step; the
-- run is still running under its lease. The default topic is 'default' on both sides.
begin;
\ir ../waiting_fixtures.sql
select plan(6);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'rt');
select durable_test.lease_of('rt') as lease \gset
select durable.send('rt', '"hello"') as msg \gset
select results_eq(
  $$ select workflow_id, topic, message, sender, created_at, consumed_at from durable.messages $$,
  $$ values ('rt'::text, 'default'::text, '"hello"'::jsonb, null::text, durable_test.t0(), null::timestamptz) $$,
  'a send from a client: topic default, no sender, not consumed');

select durable_test.advance(interval '1 second');
select results_eq(format($$ select parked, output from durable.recv('rt', %s, 3) $$, :lease),
  format($$ values (false, '{"message": "hello", "message_id": %s}'::jsonb) $$, :msg),
  'the recv takes it at once');
select results_eq($$ select consumed_at, consumed_step from durable.messages $$,
  $$ values (durable_test.t0() + interval '1 second', 3) $$, 'consumed by step 3');
select results_eq($$ select step_id, name, output from durable.steps where workflow_id = 'rt' $$,
  format($$ values (3, 'durable.recv'::text, '{"message": "hello", "message_id": %s}'::jsonb) $$, :msg),
  'recorded as step 3');
select is(durable_test.parked('rt'),
  format('running owner=worker-a login=%s lease=%s run_at=2030-01-01 00:00:00', session_user, :lease),
  'still running under its lease');
select results_eq(format($$ select parked, output from durable.recv('rt', %s, 3) $$, :lease),
  format($$ values (false, '{"message": "hello", "message_id": %s}'::jsonb) $$, :msg),
  'called again, the recorded outcome');

select * from finish();
rollback;
