-- A waiting workflow is claimable once its wake time (run_at) has passed, not before; it keeps
-- its attempt and its steps.
begin;
select plan(5);
select durable_test.pin();

select * from durable_test.start('sleeper', p_workflow_id => 'zz');
select durable.checkpoint('zz', (select lease from durable.workflows where id = 'zz'), 0, 'before', '"a"');
-- park it as a sleep would: running -> waiting with a wake time
update durable.workflows
   set status = 'waiting', owner = null, lease = null, run_at = durable_test.t0() + interval '1 hour'
 where id = 'zz';

select is((select count(*)::int from durable.claim('w2')), 0, 'before the wake time it is not claimed');
select durable_test.advance(interval '1 hour');
select results_eq(
  $$ select workflow_id, attempt, steps from durable.claim('w2') $$,
  $$ values ('zz'::text, 1, '[{"step_id": 0, "name": "before", "output": "a", "error": null}]'::jsonb) $$,
  'at the wake time it is claimed with its attempt and steps');
select results_eq(
  $$ select status, owner, claims from durable.workflows where id = 'zz' $$,
  $$ values ('running'::text, 'w2'::text, 2) $$,
  'it is running for the new worker, claimed twice in all');

-- waiting with a wake time in the past from the start
select durable_test.make('zz2', 'waiting');
update durable.workflows set run_at = durable_test.t0() + interval '2 hours' where id = 'zz2';
select is((select count(*)::int from durable.claim('w3')), 0, 'a future wake time is not claimed');
update durable.workflows set run_at = durable_test.t0() where id = 'zz2';
select is((select workflow_id from durable.claim('w3')), 'zz2', 'a passed wake time is claimed');

select * from finish();
rollback;
