-- complete raises DU001 for a stale lease (after a reclaim, or twice), DU002 when cancelled,
-- DU003 when unknown, DU008 for an oversize output; the row is left as it was.
begin;
select plan(9);
select durable_test.pin();
update durable.settings set max_payload_bytes = 2048;

select * from durable_test.start(p_workflow_id => 'cl', p_lease_timeout => interval '10 seconds');
create temp table a as select lease from durable.workflows where id = 'cl';
select durable_test.advance(interval '11 seconds');
create temp table b as select lease from durable.claim('worker-b');

select throws_ok(format($$ select durable.complete('cl', %s, '"a"') $$, (select lease from a)),
  'DU001', null, 'the previous owner''s lease raises DU001');
select results_eq($$ select status, owner, output from durable.workflows where id = 'cl' $$,
  $$ values ('running'::text, 'worker-b'::text, null::jsonb) $$, 'the workflow still runs for B');
select throws_ok(format($$ select durable.complete('cl', %s, to_jsonb(repeat(md5('o'), 100))) $$, (select lease from b)),
  'DU008', null, 'an oversize output raises DU008');

select durable.complete('cl', (select lease from b), '"b"');
select throws_ok(format($$ select durable.complete('cl', %s, '"again"') $$, (select lease from b)),
  'DU001', null, 'completing twice raises DU001');
select is((select output from durable.workflows where id = 'cl'), '"b"'::jsonb, 'the first output stays');

select * from durable_test.start(p_workflow_id => 'cc');
create temp table c as select lease from durable.workflows where id = 'cc';
select durable.cancel('cc');
select throws_ok(format($$ select durable.complete('cc', %s) $$, (select lease from c)),
  'DU002', 'workflow cc was cancelled', 'a cancelled workflow raises DU002');
select throws_ok($$ select durable.complete('cl', null) $$,
  'DU010', 'lease must not be null', 'a null lease raises DU010');
select durable.enqueue('wf', p_workflow_id => 'pend');
select throws_ok($$ select durable.complete('pend', 1) $$,
  'DU001', null, 'a pending workflow (never claimed or released) raises DU001');
select throws_ok($$ select durable.complete('nobody', 1) $$,
  'DU003', 'unknown workflow nobody', 'an unknown workflow raises DU003');

select * from finish();
rollback;
