-- A workflow whose worker keeps dying with it fails instead of looping: every reclaim from a
-- dead worker counts a lost lease; the reclaim that reaches max_lost_leases (the workflow's,
-- else durable.settings.max_lost_leases, 3) fails it with a WorkerLost error naming the count
-- and the step, kept in durable.errors. Regression: 6 restarts, 6 runs, still running.
begin;
select plan(9);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'loop', p_max_lost_leases => 2);
select is((select workflow_id from durable.claim('w1', p_lease_timeout => interval '1 second')),
  'loop', 'the first worker claims it');
select durable.checkpoint('loop', (select lease from durable.workflows where id = 'loop'), 0,
                          'reserve', '1');

select durable_test.advance(interval '2 seconds');   -- w1 died
select is((select workflow_id from durable.claim('w2', p_lease_timeout => interval '1 second')),
  'loop', 'a second worker reclaims it from the dead one');
select results_eq($$ select status, lost_leases from durable.workflows where id = 'loop' $$,
  $$ values ('running'::text, 1) $$, 'one lost lease is counted');

select durable_test.advance(interval '2 seconds');   -- w2 died too: the limit of 2 is reached
select is((select count(*)::int from durable.claim('w3')), 0,
  'the next claim does not run it again');
select results_eq(
  $$ select status, lost_leases, owner, error ->> 'type', (error ->> 'step')::int
       from durable.workflows where id = 'loop' $$,
  $$ values ('failed'::text, 2, null::text, 'WorkerLost'::text, 1) $$,
  'it failed for good: WorkerLost, at step 1 (after the recorded step 0)');
select matches((select error ->> 'message' from durable.workflows where id = 'loop'),
  'lost 2 times .* during step 1 \(after step 0, reserve\)', 'the message says how often and where');
select is((select count(*)::int from durable.errors where workflow_id = 'loop' and step_id is null), 1,
  'the failure is kept in durable.errors');

-- without an own bound, the setting applies (default 3)
select durable.enqueue('wf', p_workflow_id => 'loop2');
select durable.claim('w4', p_lease_timeout => interval '1 second');
select durable_test.advance(interval '2 seconds');
select durable.claim('w5', p_lease_timeout => interval '1 second');
select durable_test.advance(interval '2 seconds');
select durable.claim('w6', p_lease_timeout => interval '1 second');
select results_eq($$ select status, lost_leases from durable.workflows where id = 'loop2' $$,
  $$ values ('running'::text, 2) $$, 'two lost leases of three: still retried');
select durable_test.advance(interval '2 seconds');
select durable.claim('w7');
select results_eq($$ select status, lost_leases from durable.workflows where id = 'loop2' $$,
  $$ values ('failed'::text, 3) $$, 'the third fails it (durable.settings.max_lost_leases)');

select * from finish();
rollback;
