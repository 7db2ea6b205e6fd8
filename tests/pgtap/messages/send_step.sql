-- durable.send_step: a send from inside a workflow is a step. It records {"message_id": n}
-- at its position, the message's sender is the sending workflow; called again at that
-- position (a replay) it returns the recorded id and sends nothing. It wakes a destination
-- parked on that topic. Refusals: DU003 unknown destination, DU013 a finished one, and the
-- lease refusals of a step (DU001, DU002, DU005, DU015), nothing written then.
begin;
\ir ../waiting_fixtures.sql
select plan(15);
select durable_test.pin();

-- the destination parks on topic t
select * from durable_test.start(p_workflow_id => 'ss-dest');
select results_eq(format($$ select parked from durable.recv('ss-dest', %s, 0, 't') $$, durable_test.lease_of('ss-dest')),
  $$ values (true) $$, 'the destination parks on topic t');
select * from durable_test.start(p_workflow_id => 'ss-src');
select durable_test.lease_of('ss-src') as lease \gset

select durable_test.advance(interval '1 second');
select durable.send_step('ss-src', :lease, 0, 'ss-dest', '{"n": 1}', 't') as out \gset
select is((:'out'::jsonb ->> 'message_id')::bigint, (select max(id) from durable.messages),
  'send_step returns {"message_id": n}');
select results_eq($$ select workflow_id, topic, message, sender, consumed_at from durable.messages $$,
  $$ values ('ss-dest'::text, 't'::text, '{"n": 1}'::jsonb, 'ss-src'::text, null::timestamptz) $$,
  'the message is written with the sending workflow as sender');
select results_eq($$ select step_id, name, output from durable.steps where workflow_id = 'ss-src' $$,
  format($$ values (0, 'durable.send'::text, %L::jsonb) $$, :'out'), 'and recorded as the step');
select is(durable_test.parked('ss-dest'),
  'pending owner=<null> login=<null> lease=<null> run_at=2030-01-01 00:00:01',
  'the destination parked on that topic is pending, runnable now');
select is(durable.send_step('ss-src', :lease, 0, 'ss-dest', '{"n": 2}', 't'), :'out'::jsonb,
  'called again at its position it returns the recorded id');
select is((select count(*)::int from durable.messages), 1, 'and sends nothing more');

select durable_test.make('ss-done', 'succeeded');
select throws_ok(format($$ select durable.send_step('ss-src', %s, 1, 'ss-done', '1') $$, :lease),
  'DU013', null, 'a send_step to a finished workflow raises DU013');
select throws_ok(format($$ select durable.send_step('ss-src', %s, 1, 'nobody', '1') $$, :lease),
  'DU003', null, 'a send_step to an unknown workflow raises DU003');
select throws_ok(format($$ select durable.send_step('ss-src', %s, 1, 'ss-dest', '1') $$, :lease + 1000),
  'DU001', null, 'a lease that is not current raises DU001');
select durable.checkpoint('ss-src', :lease, 1, 'other', '1');
select throws_ok(format($$ select durable.send_step('ss-src', %s, 1, 'ss-dest', '1') $$, :lease),
  'DU005', null, 'another step at that position raises DU005');
create role durable_test_send_other login;
grant durable_worker to durable_test_send_other;
-- (a pinned clock is for superusers only: unpinned while another login calls)
select durable.now() as pinned \gset
select durable_test.unpin();
set local session authorization durable_test_send_other;
select throws_ok(format($$ select durable.send_step('ss-src', %s, 2, 'ss-dest', '1') $$, :lease),
  'DU015', null, 'another login cannot send_step with this worker''s lease');
reset session authorization;
select durable_test.pin(:'pinned');
select durable.cancel('ss-src');
select throws_ok(format($$ select durable.send_step('ss-src', %s, 2, 'ss-dest', '1') $$, :lease),
  'DU002', null, 'a cancelled sender raises DU002');
select is((select count(*)::int from durable.messages), 1, 'the refused calls sent nothing');
select is((select count(*)::int from durable.steps where workflow_id = 'ss-src'), 2,
  'and recorded nothing');

select * from finish();
rollback;
