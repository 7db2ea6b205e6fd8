-- complete_and_claim refuses what complete, checkpoint and claim refuse, with their codes, and
-- a refused call writes nothing: the workflow keeps running, no step is recorded, nothing is
-- claimed and the worker is not registered.
begin;
select plan(19);
select durable_test.pin();
update durable.settings set max_payload_bytes = 2048;

select * from durable_test.start(p_workflow_id => 'r');
create temp table l as select lease from durable.workflows where id = 'r';
select durable.checkpoint('r', (select lease from l), 0, 'first', '1');
select durable.enqueue('wf', p_workflow_id => 'next');

create temp table before as
select (select md5(string_agg(w::text, ',' order by id)) from durable.workflows w) as workflows,
       (select md5(string_agg(s::text, ',' order by workflow_id, step_id)) from durable.steps s) as steps,
       (select count(*) from durable.workers) as workers;

create function pg_temp.cac(p_sql text) returns text language sql as $$
  select durable_test.sqlstate(format(p_sql, (select lease from l)))
$$;

select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s + 1000, '1', 'new-worker') $$),
  'DU001', 'a stale lease raises DU001');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('nobody', %s, '1', 'new-worker') $$),
  'DU003', 'an unknown workflow raises DU003');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', null, '1', 'new-worker') $$),
  'DU010', 'a null lease raises DU010');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker',
                          p_step_id => 0, p_step_name => 'other') $$),
  'DU005', 'a last step named unlike the one recorded at its position raises DU005');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, to_jsonb(repeat(md5('o'), 100)), 'new-worker') $$),
  'DU008', 'an oversize output raises DU008');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker',
                          p_step_id => 1, p_step_name => 'big', p_step_output => to_jsonb(repeat(md5('o'), 100))) $$),
  'DU008', 'an oversize step output raises DU008');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker', array['nope']) $$),
  'DU004', 'an unknown queue raises DU004');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker', array[]::text[]) $$),
  'DU010', 'no queue raises DU010');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker', p_max => -1) $$),
  'DU011', 'a negative max raises DU011');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker', p_max => 1001) $$),
  'DU011', 'max over 1000 raises DU011');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', '') $$),
  'DU010', 'an empty worker id raises DU010');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker',
                          p_lease_timeout => interval '-1 second') $$),
  'DU011', 'a negative lease timeout raises DU011');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker',
                          p_step_id => -1, p_step_name => 'x') $$),
  'DU011', 'a negative step position raises DU011');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker',
                          p_step_name => 'x') $$),
  'DU011', 'a step name without a position raises DU011');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker',
                          p_step_id => 1) $$),
  'DU010', 'a step position without a name raises DU010');

select is((select md5(string_agg(w::text, ',' order by id)) from durable.workflows w),
  (select workflows from before), 'no workflow row changed');
select is((select md5(string_agg(s::text, ',' order by workflow_id, step_id)) from durable.steps s),
  (select steps from before), 'no step recorded');
select is((select count(*) from durable.workers), (select workers from before),
  'the worker is not registered');

select durable.cancel('r');
select is(pg_temp.cac($$ select * from durable.complete_and_claim('r', %s, '1', 'new-worker') $$),
  'DU002', 'a cancelled workflow raises DU002');

select * from finish();
rollback;
