-- durable.start_child's refusals, before anything is written: DU010 a null or empty workflow
-- name, DU004 an unknown queue, DU011 a negative timeout, and the lease refusals of a step
-- (DU001, DU002, DU003, DU005, DU015).
begin;
\ir ../waiting_fixtures.sql
select plan(10);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'scr');
select durable_test.lease_of('scr') as lease \gset
select durable.checkpoint('scr', :lease, 0, 'a step', '1');

select throws_ok(format($$ select durable.start_child('scr', %s, 1, null, p_queue => 'default') $$, :lease),
  'DU010', null, 'a null workflow name raises DU010');
select throws_ok(format($$ select durable.start_child('scr', %s, 1, '', p_queue => 'default') $$, :lease),
  'DU010', null, 'an empty workflow name raises DU010');
select throws_ok(format($$ select durable.start_child('scr', %s, 1, 'kid', p_queue => 'no_such_queue') $$, :lease),
  'DU004', null, 'an unknown queue raises DU004');
select throws_ok(format($$ select durable.start_child('scr', %s, 1, 'kid', p_timeout => interval '-1 minute', p_queue => 'default') $$, :lease),
  'DU011', null, 'a negative timeout raises DU011');
select throws_ok(format($$ select durable.start_child('scr', %s, 1, 'kid', p_queue => 'default') $$, :lease + 1000),
  'DU001', null, 'a lease that is not current raises DU001');
select throws_ok($$ select durable.start_child('nobody', 1, 1, 'kid', p_queue => 'default') $$,
  'DU003', null, 'an unknown workflow raises DU003');
select throws_ok(format($$ select durable.start_child('scr', %s, 0, 'kid', p_queue => 'default') $$, :lease),
  'DU005', null, 'another step at that position raises DU005');
-- (a pinned clock is for superusers only: unpinned while another login calls)
create role durable_test_child_other login;
grant durable_worker to durable_test_child_other;
select durable.now() as pinned \gset
select durable_test.unpin();
set local session authorization durable_test_child_other;
select throws_ok(format($$ select durable.start_child('scr', %s, 1, 'kid', p_queue => 'default') $$, :lease),
  'DU015', null, 'another login cannot start a child with this worker''s lease');
reset session authorization;
select durable_test.pin(:'pinned');
select durable.cancel('scr');
select throws_ok(format($$ select durable.start_child('scr', %s, 1, 'kid', p_queue => 'default') $$, :lease),
  'DU002', null, 'a cancelled workflow raises DU002');
select is((select count(*)::int from durable.workflows), 1, 'no child was started');

select * from finish();
rollback;
