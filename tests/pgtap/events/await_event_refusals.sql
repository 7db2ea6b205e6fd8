-- durable.await_event's refusals, before anything is written: DU003 an unknown target (or
-- workflow), DU010 a null lease, target or key, DU011 a bad position or a negative timeout,
-- DU001 a lease that is not current, DU002 cancelled, DU005 another step or another kind of
-- wait at that position, DU015 a lease of another login's worker.
begin;
\ir ../waiting_fixtures.sql
select plan(14);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'ar');
select durable_test.lease_of('ar') as lease \gset
select durable_test.make('ar-target', 'running');
select durable.checkpoint('ar', :lease, 0, 'a step', '1');

select throws_ok(format($$ select * from durable.await_event('ar', %s, 1, 'nobody', 'k') $$, :lease),
  'DU003', null, 'an unknown target raises DU003');
select throws_ok($$ select * from durable.await_event('nobody', 1, 1, 'ar-target', 'k') $$,
  'DU003', null, 'an unknown workflow raises DU003');
select throws_ok($$ select * from durable.await_event('ar', null, 1, 'ar-target', 'k') $$,
  'DU010', null, 'a null lease raises DU010');
select ok(durable_test.sqlstate(format($$ select * from durable.await_event('ar', %s, 1, null, 'k') $$, :lease)) in ('DU010', 'DU003'),
  'a null target is refused (DU010 or DU003)');
select throws_ok(format($$ select * from durable.await_event('ar', %s, 1, 'ar-target', null) $$, :lease),
  'DU010', null, 'a null key raises DU010');
select throws_ok(format($$ select * from durable.await_event('ar', %s, -1, 'ar-target', 'k') $$, :lease),
  'DU011', null, 'a negative position raises DU011');
select throws_ok(format($$ select * from durable.await_event('ar', %s, 1, 'ar-target', 'k', interval '-1 second') $$, :lease),
  'DU011', null, 'a negative timeout raises DU011');
select throws_ok(format($$ select * from durable.await_event('ar', %s, 1, 'ar-target', 'k') $$, :lease + 1000),
  'DU001', null, 'a lease that is not current raises DU001');
select throws_ok(format($$ select * from durable.await_event('ar', %s, 0, 'ar-target', 'k') $$, :lease),
  'DU005', null, 'another step at that position raises DU005');

select results_eq(format($$ select parked from durable.recv('ar', %s, 1, 't', interval '1 minute') $$, :lease),
  $$ values (true) $$, 'a recv parks at position 1');
select durable_test.advance(interval '1 minute');
select durable_test.claim_id('ar') as lease2 \gset
select throws_ok(format($$ select * from durable.await_event('ar', %s, 1, 'ar-target', 'k') $$, :lease2),
  'DU005', null, 'an event wait where a recv is waiting raises DU005');

create role durable_test_await_other login;
grant durable_worker to durable_test_await_other;
-- (a pinned clock is for superusers only: unpinned while another login calls)
select durable.now() as pinned \gset
select durable_test.unpin();
set local session authorization durable_test_await_other;
select throws_ok(format($$ select * from durable.await_event('ar', %s, 2, 'ar-target', 'k') $$, :lease2),
  'DU015', null, 'another login cannot await with this worker''s lease');
reset session authorization;
select durable_test.pin(:'pinned');
select durable.cancel('ar');
select throws_ok(format($$ select * from durable.await_event('ar', %s, 2, 'ar-target', 'k') $$, :lease2),
  'DU002', null, 'a cancelled workflow raises DU002');
select results_eq($$ select step_id, kind from durable.waits where workflow_id = 'ar' $$,
  $$ values (1, 'message'::text) $$, 'no refused call recorded a wait');

select * from finish();
rollback;
