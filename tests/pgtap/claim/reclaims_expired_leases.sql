-- When a worker's heartbeat expires, another worker's claim takes its workflows over: same
-- attempt, one more claim, a new lease; the old lease can no longer write.
begin;
select plan(8);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'exp-1');
create temp table a as select workflow_id, lease from durable.claim('worker-a', p_lease_timeout => interval '10 seconds');
select is((select workflow_id from a), 'exp-1', 'worker A claims the workflow with a 10 s lease');
select durable.checkpoint('exp-1', (select lease from a), 0, 'step', '"kept"');

select durable_test.advance(interval '10 seconds');
select is((select count(*)::int from durable.claim('worker-b')), 0,
  'at exactly the expiry time the lease is still A''s');

select durable_test.advance(interval '1 second');
create temp table b as select * from durable.claim('worker-b');
select results_eq(
  $$ select workflow_id, attempt, steps from b $$,
  $$ values ('exp-1'::text, 1, '[{"step_id": 0, "name": "step", "output": "kept", "error": null}]'::jsonb) $$,
  '11 s later worker B reclaims it at the same attempt, with its steps');
select cmp_ok((select lease from b), '<>', (select lease from a), 'with a new lease');
select results_eq(
  $$ select status, owner, lease, attempt, claims, claimed_at from durable.workflows where id = 'exp-1' $$,
  $$ select 'running'::text, 'worker-b'::text, (select lease from b), 1, 2,
            durable_test.t0() + interval '11 seconds' $$,
  'the row is running for B: new lease, attempt unchanged, claims incremented');
select throws_ok(
  format($$ select * from durable.checkpoint('exp-1', %s, 1, 'next', '1') $$, (select lease from a)),
  'DU001', null, 'A''s old lease can no longer checkpoint');
select is((select count(*)::int from durable.claim('worker-c')), 0,
  'B''s fresh lease is not reclaimed by a third worker');

-- reclaims count against p_max
select durable.enqueue('wf', p_workflow_id => 'exp-2');
select durable.enqueue('wf', p_workflow_id => 'exp-3');
select durable.claim('worker-d', p_max => 2, p_lease_timeout => interval '5 seconds');
select durable_test.advance(interval '6 seconds');
select durable.enqueue('wf', p_workflow_id => 'exp-4');
select results_eq(
  $$ select workflow_id from durable.claim('worker-e', p_max => 2) order by 1 $$,
  $$ values ('exp-2'::text), ('exp-3') $$,
  'expired leases are reclaimed before pending work is taken, within p_max');

select * from finish();
rollback;
