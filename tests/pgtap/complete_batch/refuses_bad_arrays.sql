-- DU011: arrays of different lengths, null arrays, duplicate or null ids; DU008: an oversize
-- output. Nothing is written.
begin;
select plan(7);
select durable_test.pin();
update durable.settings set max_payload_bytes = 2048;
select * from durable_test.start(p_workflow_id => 'cbr');
create temp table l as select lease from durable.workflows where id = 'cbr';

select throws_ok(format($$ select * from durable.complete_batch(array['cbr'], array[%s, 2], array['1'::jsonb]) $$, (select lease from l)),
  'DU011', 'workflow ids, leases and outputs must be arrays of the same length',
  'leases longer than ids raise DU011');
select throws_ok(format($$ select * from durable.complete_batch(array['cbr'], array[%s], array['1', '2']::jsonb[]) $$, (select lease from l)),
  'DU011', null, 'outputs longer than ids raise DU011');
select throws_ok($$ select * from durable.complete_batch(null, array[1], array['1'::jsonb]) $$,
  'DU011', null, 'null ids raise DU011');
select throws_ok(format($$ select * from durable.complete_batch(array['cbr', 'cbr'], array[%1$s, %1$s], array['1', '2']::jsonb[]) $$, (select lease from l)),
  'DU011', 'workflow ids must be distinct and not null', 'a duplicate id raises DU011');
select throws_ok($$ select * from durable.complete_batch(array[null::text], array[1], array['1'::jsonb]) $$,
  'DU011', null, 'a null id raises DU011');
select throws_ok(format($$ select * from durable.complete_batch(array['cbr'], array[%s], array[to_jsonb(repeat(md5('o'), 100))]) $$, (select lease from l)),
  'DU008', null, 'an oversize output raises DU008');
select is((select status from durable.workflows where id = 'cbr'), 'running', 'nothing was written');

select * from finish();
rollback;
