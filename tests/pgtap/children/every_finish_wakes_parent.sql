-- Every way a child finishes wakes a parent that awaits only it: complete_and_claim,
-- complete_batch, fail_batch (failed for good), the claim that fails a crash-looping child
-- (lost leases over its bound: WorkerLost), and the deadline that cancels a child (its own
-- timeout, shorter than its parent's).
begin;
\ir ../waiting_fixtures.sql
select plan(6);
select durable_test.pin();
select durable.set_queue('ef_parents');
select durable.set_queue('ef_kids');

create temp table parents as
  select p.id, durable_test.claim_id(p.id, 'worker-p', 'ef_parents') as lease
    from (select (durable.enqueue('parent', p_queue => 'ef_parents', p_workflow_id => 'ef-' || n)).workflow_id as id
            from generate_series(1, 5) n) p;
select durable.start_child(p.id, p.lease, 0, 'kid', p_queue => 'ef_kids',
                           p_timeout => case when p.id = 'ef-5' then interval '10 minutes' end)
  from parents p order by p.id;
update durable.workflows set max_lost_leases = 1 where id = 'ef-4-0';
select count(*) from (select durable.await_children(p.id, p.lease, 1, array[p.id || '-0']) from parents p) x;
select is((select count(*)::int from durable.workflows where id like 'ef-_' and status = 'waiting'), 5,
  'five parents await one child each');
select count(*) from durable.claim('worker-k', array['ef_kids'], 10, interval '10 seconds');

select count(*) from durable.complete_and_claim('ef-1-0', durable_test.lease_of('ef-1-0'), '"one"', 'worker-k', array['ef_kids'], 0);
select count(*) from durable.complete_batch(array['ef-2-0'], array[durable_test.lease_of('ef-2-0')], array['"two"'::jsonb]);
select count(*) from durable.fail_batch(array['ef-3-0'], array[durable_test.lease_of('ef-3-0')], array['{"m": 3}'::jsonb], array[false]);
select results_eq($$ select id, status from durable.workflows where id in ('ef-1', 'ef-2', 'ef-3') order by id $$,
  $$ values ('ef-1'::text, 'pending'::text), ('ef-2', 'pending'), ('ef-3', 'pending') $$,
  'complete_and_claim, complete_batch and fail_batch wake the parent');

-- worker-k dies: its lease on ef-4-0 expires, and the next claim fails ef-4-0 (its bound is 1)
select durable_test.advance(interval '11 seconds');
select count(*) from durable.claim('worker-j', array['ef_kids'], 10);
select is((select status from durable.workflows where id = 'ef-4-0'), 'failed',
  'the crash-looping child fails at the claim');
-- regression: the claim's crash-loop failure (claim.sql, 4a: WorkerLost) did not wake the
-- parent as the other finishes do, and the parent, awaiting without a timeout, waited forever
select is((select status from durable.workflows where id = 'ef-4'), 'pending',
  'and wakes its parent');

-- ef-5-0's own deadline passes: a heartbeat cancels it
select durable_test.advance(interval '10 minutes');
select durable.heartbeat('worker-j');
select is((select status from durable.workflows where id = 'ef-5-0'), 'cancelled',
  'the child past its deadline is cancelled');
select is((select status from durable.workflows where id = 'ef-5'), 'pending',
  'and wakes its parent');

select * from finish();
rollback;
