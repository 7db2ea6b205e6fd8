-- Reusing a workflow id for a workflow of another name is refused (DU006), and nothing changes.
begin;
select plan(3);

select durable.enqueue('first', '{"a": 1}', p_workflow_id => 'dup-1');
select throws_ok(
  $$ select * from durable.enqueue('second', '{"a": 2}', p_workflow_id => 'dup-1') $$,
  'DU006', 'workflow id dup-1 is already used by a workflow named first',
  'the same id with another name raises DU006');
select results_eq(
  $$ select name, input from durable.workflows $$,
  $$ values ('first'::text, '{"a": 1}'::jsonb) $$,
  'the existing workflow is unchanged and nothing was added');
select results_eq(
  $$ select * from durable.enqueue('first', p_workflow_id => 'dup-1') $$,
  $$ values ('dup-1'::text, false) $$,
  'the same id with the same name is still accepted');

select * from finish();
rollback;
