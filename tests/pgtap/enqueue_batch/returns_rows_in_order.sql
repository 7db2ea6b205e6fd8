-- enqueue_batch returns one row per item in the order of the array, and writes every item.
begin;
select plan(4);
select durable_test.pin();

select results_eq(
  $$ select * from durable.enqueue_batch('[
       {"name": "a", "workflow_id": "b-3"},
       {"name": "b", "workflow_id": "b-1"},
       {"name": "c", "workflow_id": "b-2"}]') $$,
  $$ values ('b-3'::text, true), ('b-1', true), ('b-2', true) $$,
  'rows come back in the order of the items, each created');

select results_eq(
  $$ select id, name, status, created_at from durable.workflows order by id $$,
  $$ values ('b-1'::text, 'b'::text, 'pending'::text, durable_test.t0()),
            ('b-2', 'c', 'pending', durable_test.t0()),
            ('b-3', 'a', 'pending', durable_test.t0()) $$,
  'each item is a pending workflow');

create temp table got as
select * from durable.enqueue_batch('[{"name": "x"}, {"name": "y"}, {"name": "z"}]');
select results_eq(
  $$ select w.name from got g join durable.workflows w on w.id = g.workflow_id
      order by w.name $$,
  $$ values ('x'::text), ('y'), ('z') $$,
  'items without ids get generated ids, one each');

select is((select count(*)::int from durable.enqueue_batch('[]')), 0,
  'an empty batch returns no rows');

select * from finish();
rollback;
