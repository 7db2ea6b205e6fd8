-- DU010 / DU011 on a bad step position or name, DU008 on an oversize output or error; checked
-- before the fence and before anything is written.
begin;
select plan(8);
select durable_test.pin();
update durable.settings set max_payload_bytes = 2048;

select * from durable_test.start(p_workflow_id => 'ba');
create temp table l as select lease from durable.workflows where id = 'ba';

select throws_ok(format($$ select * from durable.checkpoint('ba', %s, -1, 's') $$, (select lease from l)),
  'DU011', 'step_id must be 0 or more, got -1', 'a negative step position raises DU011');
select throws_ok(format($$ select * from durable.checkpoint('ba', %s, null, 's') $$, (select lease from l)),
  'DU011', null, 'a null step position raises DU011');
select throws_ok(format($$ select * from durable.checkpoint('ba', %s, 0, null) $$, (select lease from l)),
  'DU010', 'step name must not be null or empty', 'a null step name raises DU010');
select throws_ok(format($$ select * from durable.checkpoint('ba', %s, 0, '') $$, (select lease from l)),
  'DU010', null, 'an empty step name raises DU010');
select throws_ok(format($$ select * from durable.checkpoint('ba', %s, 0, repeat('s', 201)) $$, (select lease from l)),
  'DU011', null, 'a 201-character step name raises DU011');
select throws_ok(
  format($$ select * from durable.checkpoint('ba', %s, 0, 's', to_jsonb(repeat(md5('o'), 100))) $$, (select lease from l)),
  'DU008', null, 'an oversize output raises DU008');
select throws_ok(
  format($$ select * from durable.checkpoint('ba', %s, 0, 's', null, to_jsonb(repeat(md5('e'), 100))) $$, (select lease from l)),
  'DU008', null, 'an oversize error raises DU008');
select results_eq($$ select (select count(*)::int from durable.steps), (select count(*)::int from durable.errors) $$,
  $$ values (0, 0) $$, 'nothing was written');

select * from finish();
rollback;
