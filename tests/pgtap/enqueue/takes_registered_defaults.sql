-- Arguments left null take the defaults the workflow's workers registered (durable.register ->
-- durable.workflow_types), else the built-in ones (queue default, 3 attempts, backoff 1 second
-- to 1 hour, the settings' crash limit); arguments given win. enqueue_batch does the same.
-- Regression: `durable enqueue NAME` from the CLI put a workflow declared on queue probe with 1
-- attempt on queue default with 3, where no worker listened.
begin;
select plan(6);

select durable.set_queue('probe');
select durable.register('reg-worker', '[{"name": "probed", "queue": "probe", "max_attempts": 1,
  "backoff_base": "2 seconds", "backoff_max": "4 seconds", "max_lost_leases": 5}]');

select durable.enqueue('probed', p_workflow_id => 'r1');
select results_eq(
  $$ select queue, max_attempts, backoff_base, backoff_max, max_lost_leases
       from durable.workflows where id = 'r1' $$,
  $$ values ('probe'::text, 1, interval '2 seconds', interval '4 seconds', 5) $$,
  'a registered workflow gets the queue and retry policy its code declares');

select durable.enqueue('probed', p_workflow_id => 'r2', p_queue => 'default', p_max_attempts => 7,
                       p_max_lost_leases => 2);
select results_eq(
  $$ select queue, max_attempts, max_lost_leases from durable.workflows where id = 'r2' $$,
  $$ values ('default'::text, 7, 2) $$, 'arguments given win over the registered defaults');

select durable.enqueue('unregistered', p_workflow_id => 'r3', p_queue => null,
                       p_max_attempts => null, p_backoff_max => null);
select results_eq(
  $$ select queue, max_attempts, backoff_base, backoff_max, max_lost_leases
       from durable.workflows where id = 'r3' $$,
  $$ values ('default'::text, 3, interval '1 second', interval '1 hour', null::integer) $$,
  'an unregistered workflow gets the built-in defaults, null arguments included');

select durable.enqueue_batch('[{"name": "probed", "workflow_id": "r4"},
                               {"name": "probed", "workflow_id": "r5", "max_attempts": 2},
                               {"name": "other", "workflow_id": "r6"}]');
select results_eq(
  $$ select id, queue, max_attempts, max_lost_leases from durable.workflows
      where id in ('r4', 'r5', 'r6') order by id $$,
  $$ values ('r4'::text, 'probe'::text, 1, 5), ('r5', 'probe', 2, 5), ('r6', 'default', 3, null) $$,
  'enqueue_batch takes the registered defaults too');

select durable.register('reg-worker', '[{"name": "probed"}]');
select durable.enqueue('probed', p_workflow_id => 'r7');
select results_eq(
  $$ select queue, max_attempts from durable.workflows where id = 'r7' $$,
  $$ values ('default'::text, 3) $$, 'the last registration wins');

select throws_ok(
  $$ select durable.register('reg-worker', '[{"name": "x", "queue": "missing"}]') $$,
  'DU004', 'unknown queue missing', 'registering a workflow on an unknown queue raises DU004');

select * from finish();
rollback;
