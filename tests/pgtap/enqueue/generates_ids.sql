-- Without p_workflow_id, enqueue generates a new id (a UUID) every time.
begin;
select plan(4);

create temp table got as
select (durable.enqueue('gen')).* from generate_series(1, 3);

select is((select count(distinct workflow_id)::int from got), 3, 'three calls, three ids');
select ok((select bool_and(workflow_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$') from got),
  'generated ids are UUIDs');
select ok((select bool_and(created) from got), 'every generated id was created');
select set_eq($$ select id from durable.workflows $$, $$ select workflow_id from got $$,
  'each generated id is a stored workflow');

select * from finish();
rollback;
