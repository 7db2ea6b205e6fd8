-- claim returns a resumed workflow's recorded steps, in step order, with outputs and errors,
-- so the worker replays them without another round trip; a new workflow gets [].
begin;
select plan(3);
select durable_test.pin();

select * from durable_test.start('replay', p_workflow_id => 'r-1', p_input => '{"in": 1}');
-- record out of order: 2, 0, 1
select durable.checkpoint('r-1', (select lease from durable.workflows where id = 'r-1'), 2, 'third', '[3]');
select durable.checkpoint('r-1', (select lease from durable.workflows where id = 'r-1'), 0, 'first', '{"a": 1}');
select durable.checkpoint('r-1', (select lease from durable.workflows where id = 'r-1'), 1, 'second',
                          null, '{"message": "boom"}');
select durable.release('worker-a');

select results_eq(
  $$ select workflow_id, name, queue, input, attempt, max_attempts, steps from durable.claim('w2') $$,
  $$ values ('r-1'::text, 'replay'::text, 'default'::text, '{"in": 1}'::jsonb, 1, 3,
             '[{"step_id": 0, "name": "first", "output": {"a": 1}, "error": null},
               {"step_id": 1, "name": "second", "output": null, "error": {"message": "boom"}},
               {"step_id": 2, "name": "third", "output": [3], "error": null}]'::jsonb) $$,
  'the claim returns the steps in step order with outputs and errors');

select durable.enqueue('fresh', p_workflow_id => 'r-2');
select is((select steps from durable.claim('w2')), '[]'::jsonb, 'a new workflow has no steps');

select is(jsonb_array_length((select steps from durable.claim('w2'))), null,
  'no workflow left: no row');

select * from finish();
rollback;
