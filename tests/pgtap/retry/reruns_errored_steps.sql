-- After retry the steps that ended in error run again (removed from durable.steps, kept in
-- durable.errors); successful steps are replayed.
begin;
select plan(3);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 're', p_max_attempts => 1);
select durable.claim('worker-a');
select durable.checkpoint('re', (select lease from durable.workflows where id = 're'), 0, 'good', '"g"');
select durable.checkpoint('re', (select lease from durable.workflows where id = 're'), 1, 'bad', null, '{"m": "b"}');
select durable.fail('re', (select lease from durable.workflows where id = 're'), '{"m": "wf"}');
select durable.retry('re');

select results_eq($$ select steps from durable.claim('worker-b') $$,
  $$ values ('[{"step_id": 0, "name": "good", "output": "g", "error": null}]'::jsonb) $$,
  'the claim replays only the successful step');
select results_eq($$ select step_id, error from durable.errors order by id $$,
  $$ values (1, '{"m": "b"}'::jsonb), (null, '{"m": "wf"}') $$, 'the errors are kept');
select results_eq(
  $$ select recorded, output from durable.checkpoint('re', (select lease from durable.workflows where id = 're'), 1, 'bad', '"fixed"') $$,
  $$ values (true, '"fixed"'::jsonb) $$, 'the errored step runs again and records its new outcome');

select * from finish();
rollback;
