-- A child that finishes wakes its parent when the parent awaits it and every awaited child is
-- finished: succeeded, failed for good, or cancelled. A failure that will be retried is not a
-- finish; a parent that awaits other children, or none, is not woken.
begin;
\ir ../waiting_fixtures.sql
select plan(8);
select durable_test.pin();
select durable.set_queue('cf_parents');

create temp table parents as
  select p.id, durable_test.claim_id(p.id, 'worker-p', 'cf_parents') as lease
    from (select (durable.enqueue('parent', p_queue => 'cf_parents', p_workflow_id => 'cf-' || n)).workflow_id as id
            from generate_series(1, 4) n) p;
select durable.start_child(p.id, p.lease, 0, 'kid', p_child_id => p.id || '-a', p_queue => 'default') from parents p order by p.id;
select durable.start_child('cf-3', (select lease from parents where id = 'cf-3'), 1, 'kid', p_child_id => 'cf-3-b', p_queue => 'default');
select count(*) from (
  select durable.await_children(p.id, p.lease, 2,
           case when p.id = 'cf-3' then array['cf-3-a', 'cf-3-b'] else array[p.id || '-a'] end)
    from parents p where p.id <> 'cf-4') x;
select is((select count(*)::int from durable.workflows where id like 'cf-_' and status = 'waiting'), 3,
  'parents 1 to 3 wait for their children; parent 4 runs on without awaiting');
select count(*) from durable.claim('worker-k', array['default'], 10);
select durable_test.advance(interval '1 second');

select * from durable.fail('cf-1-a', durable_test.lease_of('cf-1-a'), '{"message": "no"}', false);
select is((select status from durable.workflows where id = 'cf-1'), 'pending',
  'a child failed for good wakes its parent');
select durable.cancel('cf-2-a');
select is((select status from durable.workflows where id = 'cf-2'), 'pending',
  'a cancelled child wakes its parent');

select results_eq($$ select status from durable.fail('cf-3-a', durable_test.lease_of('cf-3-a'), '{"message": "again"}') $$,
  $$ values ('pending'::text) $$, 'child 3a fails and will be retried');
select is((select status from durable.workflows where id = 'cf-3'), 'waiting',
  'a failure that will be retried does not wake the parent');
select durable.complete('cf-3-b', durable_test.lease_of('cf-3-b'), '"b"');
select is((select status from durable.workflows where id = 'cf-3'), 'waiting',
  'nor does one child of two finishing');
select durable.cancel('cf-3-a');
select is((select status from durable.workflows where id = 'cf-3'), 'pending',
  'the last awaited child finishing does');

select durable.complete('cf-4-a', durable_test.lease_of('cf-4-a'), '"a"');
select is(durable_test.parked('cf-4'),
  format('running owner=worker-p login=%s lease=%s run_at=2030-01-01 00:00:00', session_user,
         (select lease from parents where id = 'cf-4')),
  'a parent that does not await is left alone');

select * from finish();
rollback;
