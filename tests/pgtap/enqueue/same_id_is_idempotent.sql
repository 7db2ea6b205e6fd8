-- Enqueueing an id again returns created = false and writes nothing: the first input,
-- settings and status are kept.
begin;
select plan(6);
select durable_test.pin();

select durable.enqueue('order', '{"n": 1}', p_workflow_id => 'idem-1', p_priority => 5);
select durable_test.advance(interval '1 minute');

select results_eq(
  $$ select * from durable.enqueue('order', '{"n": 2}', p_workflow_id => 'idem-1', p_priority => 9) $$,
  $$ values ('idem-1'::text, false) $$,
  'the same id again returns created = false');
select is((select count(*)::int from durable.workflows), 1, 'no second row');
select results_eq(
  $$ select input, priority, created_at from durable.workflows where id = 'idem-1' $$,
  $$ values ('{"n": 1}'::jsonb, 5, durable_test.t0()) $$,
  'the first input, priority and creation time are kept');

-- also once it is running or finished
select durable.claim('w');
select results_eq(
  $$ select * from durable.enqueue('order', '{"n": 3}', p_workflow_id => 'idem-1') $$,
  $$ values ('idem-1'::text, false) $$,
  'the same id while it runs returns created = false');
select is((select status from durable.workflows where id = 'idem-1'), 'running',
  'and leaves the running workflow alone');

select durable.complete('idem-1', (select lease from durable.workflows where id = 'idem-1'), '"done"');
select results_eq(
  $$ select e.created, w.status, w.output
       from durable.enqueue('order', p_workflow_id => 'idem-1') e
       join durable.workflows w on w.id = e.workflow_id $$,
  $$ values (false, 'succeeded'::text, '"done"'::jsonb) $$,
  'the same id after success returns the finished run, unchanged');

select * from finish();
rollback;
