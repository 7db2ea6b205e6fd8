-- DU005: a different step name at a recorded position means the workflow code is not
-- deterministic; the recorded step is kept.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'nd');
select durable.checkpoint('nd', (select lease from durable.workflows where id = 'nd'), 0, 'charge', '"ok"');

select throws_ok(
  $$ select * from durable.checkpoint('nd', (select lease from durable.workflows where id = 'nd'), 0, 'refund', '"x"') $$,
  'DU005', 'step 0 of workflow nd is recorded as charge, not refund',
  'another name at a recorded position raises DU005');
select throws_ok(
  $$ select * from durable.checkpoint('nd', (select lease from durable.workflows where id = 'nd'), 0, 'refund', null, '{"m": 1}') $$,
  'DU005', null, 'also when reporting an error there');
select results_eq($$ select step_id, name, output from durable.steps $$,
  $$ values (0, 'charge'::text, '"ok"'::jsonb) $$, 'the recorded step is unchanged');
select is((select count(*)::int from durable.errors), 0, 'no error was kept');

select * from finish();
rollback;
