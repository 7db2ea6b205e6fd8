-- fail raises DU010 for a null error or lease, DU001 for a stale lease, DU002 when cancelled, DU003 when
-- unknown, DU008 for an oversize error; nothing changes.
begin;
select plan(8);
select durable_test.pin();
update durable.settings set max_payload_bytes = 2048;

select * from durable_test.start(p_workflow_id => 'fr');
create temp table l as select lease from durable.workflows where id = 'fr';

select throws_ok(format($$ select * from durable.fail('fr', %s, null) $$, (select lease from l)),
  'DU010', 'errors must not be null', 'a null error raises DU010');
select throws_ok($$ select * from durable.fail('fr', null, '{}') $$,
  'DU010', 'lease must not be null', 'a null lease raises DU010');
select throws_ok(format($$ select * from durable.fail('fr', %s, '{}') $$, (select lease from l) + 1000),
  'DU001', null, 'a wrong lease raises DU001');
select throws_ok(format($$ select * from durable.fail('fr', %s, to_jsonb(repeat(md5('e'), 100))) $$, (select lease from l)),
  'DU008', null, 'an oversize error raises DU008');
select throws_ok($$ select * from durable.fail('nobody', 1, '{}') $$,
  'DU003', null, 'an unknown workflow raises DU003');
select results_eq($$ select status, attempt, error from durable.workflows where id = 'fr' $$,
  $$ values ('running'::text, 1, null::jsonb) $$, 'the workflow is unchanged');
select is((select count(*)::int from durable.errors), 0, 'no error was kept');

select durable.cancel('fr');
select throws_ok(format($$ select * from durable.fail('fr', %s, '{}') $$, (select lease from l)),
  'DU002', null, 'a cancelled workflow raises DU002');

select * from finish();
rollback;
