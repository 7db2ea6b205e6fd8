-- cancel ends a pending, running or waiting workflow: cancelled, owner and lease cleared,
-- finished_at now; the worker learns it at its next checkpoint (DU002) or heartbeat.
begin;
select plan(6);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'c-running');
select durable.enqueue('wf', p_workflow_id => 'c-pending');
select durable_test.make('c-waiting', 'waiting');
select durable_test.advance(interval '1 second');

select is(durable.cancel('c-pending'), 'cancelled', 'a pending workflow is cancelled');
select is(durable.cancel('c-running'), 'cancelled', 'a running workflow is cancelled');
select is(durable.cancel('c-waiting'), 'cancelled', 'a waiting workflow is cancelled');
select results_eq($$ select id, status, owner, lease, finished_at from durable.workflows order by id $$,
  $$ select id, 'cancelled'::text, null::text, null::bigint, durable_test.t0() + interval '1 second'
       from unnest(array['c-pending', 'c-running', 'c-waiting']) id $$,
  'all three are cancelled, without owner or lease, finished now');
select is((select count(*)::int from durable.heartbeat('worker-a')), 0,
  'the running one drops out of its worker''s heartbeat');
select is((select count(*)::int from durable.claim('worker-b', p_max => 10)), 0, 'none is claimable');

select * from finish();
rollback;
