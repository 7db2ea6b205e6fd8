-- Items whose id already exists report created = false and change nothing; the others are
-- created.
begin;
select plan(3);

select durable.enqueue('a', '"old"', p_workflow_id => 'x-1');
select results_eq(
  $$ select * from durable.enqueue_batch('[
       {"name": "a", "workflow_id": "x-0", "input": "new"},
       {"name": "a", "workflow_id": "x-1", "input": "new"}]') $$,
  $$ values ('x-0'::text, true), ('x-1', false) $$,
  'the existing id reports created = false, the new one true');
select results_eq(
  $$ select id, input from durable.workflows order by id $$,
  $$ values ('x-0'::text, '"new"'::jsonb), ('x-1', '"old"') $$,
  'the existing workflow keeps its input');
select results_eq(
  $$ select * from durable.enqueue_batch('[{"name": "a", "workflow_id": "x-0"},
                                          {"name": "a", "workflow_id": "x-1"}]') $$,
  $$ values ('x-0'::text, false), ('x-1', false) $$,
  'the same batch again creates nothing');

select * from finish();
rollback;
