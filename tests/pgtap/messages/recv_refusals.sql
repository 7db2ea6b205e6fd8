-- durable.recv's refusals, before anything is written or consumed: DU010 a null lease, topic
-- or name, DU011 a bad position or a negative timeout, DU001 a lease that is not current,
-- DU002 cancelled, DU003 unknown, DU005 another step or another kind of wait at that position,
-- DU015 a lease of another login's worker. The message waiting on the topic stays unconsumed.
begin;
\ir ../waiting_fixtures.sql
select plan(17);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'rr');
select durable_test.lease_of('rr') as lease \gset
select durable.checkpoint('rr', :lease, 0, 'a step', '1');
select durable.send('rr', '"m"', 't');

select throws_ok($$ select * from durable.recv('rr', null, 1, 't') $$,
  'DU010', null, 'a null lease raises DU010');
select throws_ok(format($$ select * from durable.recv('rr', %s, 1, null) $$, :lease),
  'DU010', null, 'a null topic raises DU010');
select ok(durable_test.sqlstate(format($$ select * from durable.recv('rr', %s, 1, '') $$, :lease)) in ('DU010', 'DU011'),
  'an empty topic is refused (DU010 or DU011)');
select throws_ok(format($$ select * from durable.recv('rr', %s, 1, 't', p_name => null) $$, :lease),
  'DU010', null, 'a null name raises DU010');
select throws_ok(format($$ select * from durable.recv('rr', %s, -1, 't') $$, :lease),
  'DU011', null, 'a negative position raises DU011');
select throws_ok(format($$ select * from durable.recv('rr', %s, 1, 't', interval '-1 second') $$, :lease),
  'DU011', null, 'a negative timeout raises DU011');
select throws_ok(format($$ select * from durable.recv('rr', %s, 1, 't') $$, :lease + 1000),
  'DU001', null, 'a lease that is not current raises DU001');
select throws_ok($$ select * from durable.recv('nobody', 1, 1, 't') $$,
  'DU003', null, 'an unknown workflow raises DU003');
select throws_ok(format($$ select * from durable.recv('rr', %s, 0, 't') $$, :lease),
  'DU005', null, 'another step recorded at that position raises DU005');

-- another kind of wait at that position: a sleep parked at position 1, now over
select results_eq(format($$ select parked from durable.sleep('rr', %s, 1, interval '1 minute') $$, :lease),
  $$ values (true) $$, 'a sleep parks at position 1');
select durable_test.advance(interval '1 minute');
select durable_test.claim_id('rr') as lease2 \gset
select throws_ok(format($$ select * from durable.recv('rr', %s, 1, 't') $$, :lease2),
  'DU005', null, 'a recv where a sleep is waiting raises DU005');

create role durable_test_recv_other login;
grant durable_worker to durable_test_recv_other;
-- (a pinned clock is for superusers only: unpinned while another login calls)
select durable.now() as pinned \gset
select durable_test.unpin();
set local session authorization durable_test_recv_other;
select throws_ok(format($$ select * from durable.recv('rr', %s, 2, 't') $$, :lease2),
  'DU015', null, 'another login cannot recv with this worker''s lease');
reset session authorization;
select durable_test.pin(:'pinned');

select durable_test.lease_of('rr') as lease3 \gset
select is(:lease3::bigint, :lease2::bigint, 'the refused calls left the lease alone');
select durable.cancel('rr');
select throws_ok(format($$ select * from durable.recv('rr', %s, 2, 't') $$, :lease2),
  'DU002', null, 'a cancelled workflow raises DU002');

select is((select consumed_at from durable.messages), null, 'the message was not consumed');
select results_eq($$ select step_id from durable.steps where workflow_id = 'rr' $$,
  $$ values (0) $$, 'no refused call recorded a step');
select results_eq($$ select step_id, kind from durable.waits where workflow_id = 'rr' $$,
  $$ values (1, 'sleep'::text) $$, 'no refused call recorded a wait');

select * from finish();
rollback;
