-- durable.sleep's refusals, each before anything is written: DU011 unless exactly one of
-- duration and until is given, DU011 a bad position, DU010 a null or empty name or a null
-- lease, DU001 a lease that is not current, DU002 cancelled, DU003 unknown, DU005 another step
-- or another kind of wait recorded at that position, DU015 a lease of another login's worker.
begin;
\ir ../waiting_fixtures.sql
select plan(17);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'sr');
select durable_test.lease_of('sr') as lease \gset
select durable.checkpoint('sr', :lease, 0, 'a step', '1');

select throws_ok(format($$ select * from durable.sleep('sr', %s, 1) $$, :lease),
  'DU011', null, 'neither duration nor until raises DU011');
select throws_ok(format($$ select * from durable.sleep('sr', %s, 1, interval '1 hour', durable_test.t0()) $$, :lease),
  'DU011', null, 'both duration and until raise DU011');
select throws_ok(format($$ select * from durable.sleep('sr', %s, -1, interval '1 hour') $$, :lease),
  'DU011', null, 'a negative position raises DU011');
select throws_ok(format($$ select * from durable.sleep('sr', %s, null, interval '1 hour') $$, :lease),
  'DU011', null, 'a null position raises DU011');
select throws_ok(format($$ select * from durable.sleep('sr', %s, 1, interval '1 hour', p_name => null) $$, :lease),
  'DU010', null, 'a null name raises DU010');
select throws_ok(format($$ select * from durable.sleep('sr', %s, 1, interval '1 hour', p_name => '') $$, :lease),
  'DU010', null, 'an empty name raises DU010');
select throws_ok($$ select * from durable.sleep('sr', null, 1, interval '1 hour') $$,
  'DU010', null, 'a null lease raises DU010');
select throws_ok(format($$ select * from durable.sleep('sr', %s, 1, interval '1 hour') $$, :lease + 1000),
  'DU001', null, 'a lease that is not current raises DU001');
select throws_ok($$ select * from durable.sleep('nobody', 1, 1, interval '1 hour') $$,
  'DU003', null, 'an unknown workflow raises DU003');
select throws_ok(format($$ select * from durable.sleep('sr', %s, 0, interval '1 hour') $$, :lease),
  'DU005', null, 'another step recorded at that position raises DU005');
select throws_ok(format($$ select * from durable.sleep('sr', %s, 0, interval '-1 hour') $$, :lease),
  'DU005', null, 'a due sleep at the position of another step raises DU005 too');

-- another kind of wait at that position: a recv parked at position 1, timed out
select results_eq(format($$ select parked from durable.recv('sr', %s, 1, 't', interval '1 minute') $$, :lease),
  $$ values (true) $$, 'a recv with a timeout parks at position 1');
select durable_test.advance(interval '1 minute');
select durable_test.claim_id('sr') as lease2 \gset
select throws_ok(format($$ select * from durable.sleep('sr', %s, 1, interval '1 hour') $$, :lease2),
  'DU005', null, 'a sleep where a recv is waiting raises DU005');

-- DU015: the lease of a worker of another login
create role durable_test_sleep_other login;
grant durable_worker to durable_test_sleep_other;
-- (a pinned clock is for superusers only: unpinned while another login calls)
select durable.now() as pinned \gset
select durable_test.unpin();
set local session authorization durable_test_sleep_other;
select throws_ok(format($$ select * from durable.sleep('sr', %s, 2, interval '1 hour') $$, :lease2),
  'DU015', null, 'another login cannot sleep with this worker''s lease');
reset session authorization;
select durable_test.pin(:'pinned');

select durable.cancel('sr');
select throws_ok(format($$ select * from durable.sleep('sr', %s, 2, interval '1 hour') $$, :lease2),
  'DU002', null, 'a cancelled workflow raises DU002');

select results_eq($$ select step_id, name from durable.steps where workflow_id = 'sr' $$,
  $$ values (0, 'a step'::text) $$, 'no refused call recorded a step');
select results_eq($$ select step_id, kind from durable.waits where workflow_id = 'sr' $$,
  $$ values (1, 'message'::text) $$, 'no refused call recorded a wait');

select * from finish();
rollback;
