-- DU002 when the workflow was cancelled (stop executing it); DU003 when it does not exist.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'cx');
create temp table l as select lease from durable.workflows where id = 'cx';
select durable.cancel('cx');

select throws_ok(
  format($$ select * from durable.checkpoint('cx', %s, 0, 's', '1') $$, (select lease from l)),
  'DU002', 'workflow cx was cancelled', 'checkpoint on a cancelled workflow raises DU002');
select throws_ok($$ select * from durable.checkpoint('nobody', 1, 0, 's', '1') $$,
  'DU003', 'unknown workflow nobody', 'checkpoint on an unknown workflow raises DU003');
select throws_ok($$ select * from durable.checkpoint(null, 1, 0, 's', '1') $$,
  'DU003', null, 'a null workflow id raises DU003');
select is((select count(*)::int from durable.steps), 0, 'nothing was recorded');

select * from finish();
rollback;
