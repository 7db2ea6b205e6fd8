-- DU011: arrays of different lengths, retryable of another length, duplicate ids; DU010: a null
-- error; DU008: an oversize error. Nothing is written.
begin;
select plan(6);
select durable_test.pin();
update durable.settings set max_payload_bytes = 2048;
select * from durable_test.start(p_workflow_id => 'fbr');
create temp table l as select lease from durable.workflows where id = 'fbr';

select throws_ok(format($$ select * from durable.fail_batch(array['fbr'], array[%s, 1], array['{}'::jsonb]) $$, (select lease from l)),
  'DU011', 'workflow ids, leases and errors must be arrays of the same length', 'arrays of different lengths raise DU011');
select throws_ok(format($$ select * from durable.fail_batch(array['fbr'], array[%s], array['{}'::jsonb], array[true, false]) $$, (select lease from l)),
  'DU011', 'retryable must be null or as long as the workflow ids', 'retryable of another length raises DU011');
select throws_ok(format($$ select * from durable.fail_batch(array['fbr', 'fbr'], array[%1$s, %1$s], array['{}', '{}']::jsonb[]) $$, (select lease from l)),
  'DU011', 'workflow ids must be distinct and not null', 'a duplicate id raises DU011');
select throws_ok(format($$ select * from durable.fail_batch(array['fbr'], array[%s], array[null::jsonb]) $$, (select lease from l)),
  'DU010', 'errors must not be null', 'a null error raises DU010');
select throws_ok(format($$ select * from durable.fail_batch(array['fbr'], array[%s], array[to_jsonb(repeat(md5('e'), 100))]) $$, (select lease from l)),
  'DU008', null, 'an oversize error raises DU008');
select results_eq($$ select status, (select count(*)::int from durable.errors) from durable.workflows where id = 'fbr' $$,
  $$ values ('running'::text, 0) $$, 'nothing was written');

select * from finish();
rollback;
