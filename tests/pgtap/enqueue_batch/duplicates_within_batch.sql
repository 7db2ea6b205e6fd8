-- An id that appears twice in one batch is created once: by its first occurrence, whose input
-- is kept; the later occurrence reports created = false.
begin;
select plan(3);

select results_eq(
  $$ select * from durable.enqueue_batch('[
       {"name": "a", "workflow_id": "d-1", "input": 1},
       {"name": "a", "workflow_id": "d-2", "input": 2},
       {"name": "a", "workflow_id": "d-1", "input": 3}]') $$,
  $$ values ('d-1'::text, true), ('d-2', true), ('d-1', false) $$,
  'the first occurrence is created, the repeat is not');
select is((select count(*)::int from durable.workflows), 2, 'two rows');
select is((select input from durable.workflows where id = 'd-1'), '1'::jsonb,
  'the first occurrence''s input is kept');

select * from finish();
rollback;
