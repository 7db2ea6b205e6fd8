-- A reused workflow id: by default (p_if_exists = return) the existing run is returned whatever
-- the input; with refuse_different_input an existing run with another input raises DU018 (the
-- same input still returns it); another name is DU006 either way; a bad p_if_exists is DU011.
begin;
select plan(10);
select durable_test.pin();
select durable.enqueue('order', '{"n": 1}', p_workflow_id => 'o1');

select results_eq($$ select * from durable.enqueue('order', '{"n": 2}', p_workflow_id => 'o1') $$,
  $$ values ('o1'::text, false) $$, 'default: another input returns the existing run');
select throws_ok($$ select durable.enqueue('order', '{"n": 2}', p_workflow_id => 'o1', p_if_exists => 'refuse_different_input') $$,
  'DU018', 'workflow id o1 is already used by a run of order with another input',
  'refuse_different_input: another input raises DU018');
select results_eq($$ select * from durable.enqueue('order', '{"n": 1}', p_workflow_id => 'o1', p_if_exists => 'refuse_different_input') $$,
  $$ values ('o1'::text, false) $$, 'refuse_different_input: the same input returns the existing run');
select throws_ok($$ select durable.enqueue('other', '{"n": 1}', p_workflow_id => 'o1', p_if_exists => 'refuse_different_input') $$,
  'DU006', null, 'another name is DU006 first');
select throws_ok($$ select durable.enqueue('order', p_workflow_id => 'o1', p_if_exists => 'sometimes') $$,
  'DU011', 'if_exists must be return or refuse_different_input, got sometimes', 'a bad if_exists raises DU011');
select throws_ok($$ select durable.enqueue('order', p_workflow_id => 'o1', p_if_exists => null) $$,
  'DU011', null, 'a null if_exists raises DU011');
select is((select input from durable.workflows where id = 'o1'), '{"n": 1}'::jsonb, 'the first input is kept');

-- enqueue_batch: the item key if_exists
select throws_ok($$ select durable.enqueue_batch('[{"name": "order", "input": {"n": 1}, "workflow_id": "new"}, {"name": "order", "input": {"n": 3}, "workflow_id": "o1", "if_exists": "refuse_different_input"}]') $$,
  'DU018', 'workflow id o1 is already used by a run with another input', 'in a batch: DU018 refuses the batch');
select is((select count(*)::int from durable.workflows), 1, 'and writes nothing');
select results_eq($$ select * from durable.enqueue_batch('[{"name": "order", "input": {"n": 1}, "workflow_id": "o1", "if_exists": "refuse_different_input"}, {"name": "order", "input": {"n": 9}, "workflow_id": "o1"}]') $$,
  $$ values ('o1'::text, false), ('o1', false) $$, 'in a batch: the same input, or the default, returns the existing run');

select * from finish();
rollback;
