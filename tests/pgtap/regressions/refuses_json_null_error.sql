-- Found by the fault runs: a JSON null error ('null'::jsonb) was recorded as a step outcome that
-- replays like a success with output null. checkpoint and step_failed refuse it (DU010).
begin;
select plan(3);
select durable_test.pin();
select * from durable_test.start(p_workflow_id => 'jn');

select throws_ok(
  $$ select * from durable.checkpoint('jn', (select lease from durable.workflows where id = 'jn'),
                                      0, 's', null, 'null') $$,
  'DU010', 'error must not be JSON null', 'checkpoint refuses a JSON null error');
select throws_ok(
  $$ select * from durable.step_failed('jn', (select lease from durable.workflows where id = 'jn'),
                                       0, 's', 'null') $$,
  'DU010', 'error must not be null', 'step_failed refuses a JSON null error');
select is((select count(*) from durable.steps) + (select count(*) from durable.errors), 0::bigint,
  'nothing was recorded');

select * from finish();
rollback;
