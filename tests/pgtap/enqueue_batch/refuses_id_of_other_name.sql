-- DU006: an id already used by a workflow of another name, or given twice in one batch with
-- different names, refuses the batch.
begin;
select plan(4);

select durable.enqueue('first', p_workflow_id => 'n-1');
select throws_ok(
  $$ select * from durable.enqueue_batch('[{"name": "new", "workflow_id": "n-2"},
                                          {"name": "other", "workflow_id": "n-1"}]') $$,
  'DU006', 'workflow id n-1 is already used by a workflow named first',
  'an existing id with another name raises DU006');
select throws_ok(
  $$ select * from durable.enqueue_batch('[{"name": "a", "workflow_id": "n-3"},
                                          {"name": "b", "workflow_id": "n-3"}]') $$,
  'DU006', 'workflow id n-3 appears in the batch with different names',
  'one id with two names in the batch raises DU006');
select results_eq($$ select id, name from durable.workflows $$,
  $$ values ('n-1'::text, 'first'::text) $$,
  'nothing was written, the existing workflow is unchanged');
select results_eq(
  $$ select * from durable.enqueue_batch('[{"name": "first", "workflow_id": "n-1"}]') $$,
  $$ values ('n-1'::text, false) $$,
  'the same id with the same name is accepted');

select * from finish();
rollback;
