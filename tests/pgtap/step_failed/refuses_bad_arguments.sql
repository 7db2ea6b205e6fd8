-- step_failed refuses what checkpoint refuses, and a null error (DU010), a bad retry policy
-- (DU011); nothing is written.
begin;
select plan(11);
select durable_test.pin();
update durable.settings set max_payload_bytes = 2048;

select * from durable_test.start(p_workflow_id => 'sfb', p_lease_timeout => interval '10 seconds');
create temp table l as select lease from durable.workflows where id = 'sfb';

select throws_ok(format($$ select * from durable.step_failed('sfb', %s, 0, 's', null) $$, (select lease from l)),
  'DU010', 'error must not be null', 'a null error raises DU010');
select throws_ok(format($$ select * from durable.step_failed('sfb', %s, -1, 's', '{}') $$, (select lease from l)),
  'DU011', null, 'a negative position raises DU011');
select throws_ok(format($$ select * from durable.step_failed('sfb', %s, 0, '', '{}') $$, (select lease from l)),
  'DU010', null, 'an empty name raises DU010');
select throws_ok(format($$ select * from durable.step_failed('sfb', %s, 0, 's', '{}', 0) $$, (select lease from l)),
  'DU011', 'max_attempts must be 1 or more, got 0', 'max_attempts 0 raises DU011');
select throws_ok(
  format($$ select * from durable.step_failed('sfb', %s, 0, 's', '{}', 3, interval '1 hour', interval '1 minute') $$, (select lease from l)),
  'DU011', null, 'backoff max below base raises DU011');
select throws_ok(
  format($$ select * from durable.step_failed('sfb', %s, 0, 's', to_jsonb(repeat(md5('e'), 100))) $$, (select lease from l)),
  'DU008', null, 'an oversize error raises DU008');
select throws_ok($$ select * from durable.step_failed('nobody', 1, 0, 's', '{}') $$,
  'DU003', null, 'an unknown workflow raises DU003');
select throws_ok(format($$ select * from durable.step_failed('sfb', %s, 0, 's', '{}') $$, (select lease from l) + 1000),
  'DU001', null, 'a wrong lease raises DU001');
select throws_ok($$ select * from durable.step_failed('sfb', null, 0, 's', '{}') $$,
  'DU010', 'lease must not be null', 'a null lease raises DU010');

select results_eq($$ select (select count(*)::int from durable.steps), (select count(*)::int from durable.errors) $$,
  $$ values (0, 0) $$, 'nothing was written');

select durable.cancel('sfb');
select throws_ok(format($$ select * from durable.step_failed('sfb', %s, 0, 's', '{}') $$, (select lease from l)),
  'DU002', null, 'a cancelled workflow raises DU002');

select * from finish();
rollback;
