-- DU010: a workflow needs a name; an id, when given, must not be empty.
begin;
select plan(4);

select throws_ok($$ select * from durable.enqueue(null) $$,
  'DU010', 'workflow name must not be null or empty', 'a null name raises DU010');
select throws_ok($$ select * from durable.enqueue('') $$,
  'DU010', 'workflow name must not be null or empty', 'an empty name raises DU010');
select throws_ok($$ select * from durable.enqueue('wf', p_workflow_id => '') $$,
  'DU010', 'workflow id must not be empty', 'an empty workflow id raises DU010');
select is((select count(*)::int from durable.workflows), 0, 'nothing was written');

select * from finish();
rollback;
