-- durable.await_children's refusals, before anything is written: DU016 an id that is not a
-- child of this workflow (an unrelated workflow, another's child, a grandchild, an unknown
-- id), DU010 a null list, a null or empty list refused, DU011 a negative timeout, and the
-- lease refusals (DU001, DU002, DU003, DU005, DU015).
begin;
\ir ../waiting_fixtures.sql
select plan(15);
select durable_test.pin();
select durable.set_queue('acr_parents');
select durable.set_queue('acr_kids');

select * from durable_test.start(p_workflow_id => 'acr', p_queue => 'acr_parents');
select durable_test.lease_of('acr') as lease \gset
select durable.checkpoint('acr', :lease, 0, 'a step', '1');
select durable.start_child('acr', :lease, 1, 'kid', p_child_id => 'acr-kid', p_queue => 'acr_kids');
select durable_test.claim_id('acr-kid', 'worker-k', 'acr_kids') as lk \gset
select durable.start_child('acr-kid', :lk, 0, 'kid', p_child_id => 'acr-grandkid', p_queue => 'default');
select durable.enqueue('kid', p_workflow_id => 'acr-stranger');

select throws_ok(format($$ select * from durable.await_children('acr', %s, 2, array['acr-kid', 'acr-stranger']) $$, :lease),
  'DU016', null, 'an unrelated workflow raises DU016');
select throws_ok(format($$ select * from durable.await_children('acr', %s, 2, array['acr-grandkid']) $$, :lease),
  'DU016', null, 'a grandchild raises DU016');
select throws_ok(format($$ select * from durable.await_children('acr', %s, 2, array['nobody']) $$, :lease),
  'DU016', null, 'an unknown id raises DU016');
select throws_ok(format($$ select * from durable.await_children('acr', %s, 2, array['acr']) $$, :lease),
  'DU016', null, 'the workflow itself raises DU016');
select throws_ok(format($$ select * from durable.await_children('acr', %s, 2, null) $$, :lease),
  'DU010', null, 'a null list raises DU010');
select ok(durable_test.sqlstate(format($$ select * from durable.await_children('acr', %s, 2, array[]::text[]) $$, :lease)) in ('DU010', 'DU011'),
  'an empty list is refused (DU010 or DU011)');
select ok(durable_test.sqlstate(format($$ select * from durable.await_children('acr', %s, 2, array[null]::text[]) $$, :lease)) in ('DU010', 'DU011', 'DU016'),
  'a null id in the list is refused');
select throws_ok(format($$ select * from durable.await_children('acr', %s, 2, array['acr-kid'], interval '-1 second') $$, :lease),
  'DU011', null, 'a negative timeout raises DU011');
select throws_ok(format($$ select * from durable.await_children('acr', %s, 2, array['acr-kid']) $$, :lease + 1000),
  'DU001', null, 'a lease that is not current raises DU001');
select throws_ok($$ select * from durable.await_children('nobody', 1, 2, array['acr-kid']) $$,
  'DU003', null, 'an unknown workflow raises DU003');
select throws_ok(format($$ select * from durable.await_children('acr', %s, 0, array['acr-kid']) $$, :lease),
  'DU005', null, 'another step at that position raises DU005');
select results_eq(format($$ select parked from durable.sleep('acr', %s, 2, interval '1 minute') $$, :lease),
  $$ values (true) $$, 'a sleep parks at position 2');
select durable_test.advance(interval '1 minute');
select durable_test.claim_id('acr', 'worker-a', 'acr_parents') as lease2 \gset
select throws_ok(format($$ select * from durable.await_children('acr', %s, 2, array['acr-kid']) $$, :lease2),
  'DU005', null, 'a wait for children where a sleep is waiting raises DU005');
-- (a pinned clock is for superusers only: unpinned while another login calls)
create role durable_test_children_other login;
grant durable_worker to durable_test_children_other;
select durable.now() as pinned \gset
select durable_test.unpin();
set local session authorization durable_test_children_other;
select throws_ok(format($$ select * from durable.await_children('acr', %s, 3, array['acr-kid']) $$, :lease2),
  'DU015', null, 'another login cannot await with this worker''s lease');
reset session authorization;
select durable_test.pin(:'pinned');
select durable.cancel('acr');
select throws_ok(format($$ select * from durable.await_children('acr', %s, 3, array['acr-kid']) $$, :lease2),
  'DU002', null, 'a cancelled workflow raises DU002');

select * from finish();
rollback;
