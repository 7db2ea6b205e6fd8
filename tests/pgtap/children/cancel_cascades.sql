-- durable.cancel of a parent cancels its unfinished descendants that are not detached,
-- grandchildren included, each with the error {"type": "Cancelled", "message": naming the
-- cancelled workflow}; a detached child and what is under it, and finished children, are left
-- alone. A worker running a cancelled child learns it at its next checkpoint (DU002) or
-- heartbeat.
begin;
\ir ../waiting_fixtures.sql
select plan(9);
select durable_test.pin();
select durable.set_queue('cc_parents');
select durable.set_queue('cc_mid');

-- P starts c1 (stays pending), c2 (runs and starts g1, and g2 detached), c3 detached (runs
-- and starts d1), c4 (succeeds)
select * from durable_test.start(p_workflow_id => 'P', p_queue => 'cc_parents');
select durable_test.lease_of('P') as lp \gset
select durable.start_child('P', :lp, 0, 'kid', p_child_id => 'c1', p_queue => 'default');
select durable.start_child('P', :lp, 1, 'kid', p_child_id => 'c2', p_queue => 'cc_mid');
select durable.start_child('P', :lp, 2, 'kid', p_child_id => 'c3', p_queue => 'cc_mid', p_detached => true);
select durable.start_child('P', :lp, 3, 'kid', p_child_id => 'c4', p_queue => 'cc_mid');
select count(*) from durable.claim('worker-m', array['cc_mid'], 10);
select durable.start_child('c2', durable_test.lease_of('c2'), 0, 'kid', p_child_id => 'g1', p_queue => 'default');
select durable.start_child('c2', durable_test.lease_of('c2'), 1, 'kid', p_child_id => 'g2', p_detached => true, p_queue => 'default');
select durable.start_child('c3', durable_test.lease_of('c3'), 0, 'kid', p_child_id => 'd1', p_queue => 'default');
select durable.complete('c4', durable_test.lease_of('c4'), '"four"');
select durable_test.lease_of('c2') as lc2 \gset
-- P parks awaiting c1
select count(*) from durable.await_children('P', :lp, 4, array['c1']);

select durable_test.advance(interval '1 minute');
select is(durable.cancel('P'), 'cancelled', 'the parent is cancelled');
select results_eq($$ select id, status from durable.workflows order by id $$,
  $$ values ('P'::text, 'cancelled'::text), ('c1', 'cancelled'), ('c2', 'cancelled'), ('c3', 'running'),
            ('c4', 'succeeded'), ('d1', 'pending'), ('g1', 'cancelled'), ('g2', 'pending') $$,
  'its unfinished non-detached children and grandchildren are cancelled; detached ones, what is under them and finished ones are not');
select ok((select bool_and(error ->> 'type' = 'Cancelled' and error ->> 'message' like '% P %'
                           and finished_at = durable_test.t0() + interval '1 minute'
                           and owner is null and lease is null)
             from durable.workflows where id in ('c1', 'c2', 'g1')),
  'each with the error Cancelled, naming the workflow cancelled, finished now, without owner or lease');
select is((select output from durable.workflows where id = 'c4'), '"four"'::jsonb,
  'the finished child keeps its output');
select throws_ok(format($$ select * from durable.checkpoint('c2', %s, 2, 's', '1') $$, :lc2),
  'DU002', null, 'the worker of a cancelled child learns it at its next checkpoint');
select is((select array_agg(workflow_id order by workflow_id) from durable.heartbeat('worker-m')), array['c3'],
  'and its heartbeat lists only the detached child');
select is(durable.cancel('P'), 'cancelled', 'cancelling again is idempotent');
select is(durable.cancel('c3'), 'cancelled', 'cancelling the detached child');
select is((select status from durable.workflows where id = 'd1'), 'cancelled',
  'cascades to its own children');

select * from finish();
rollback;
