-- DU001: a lease that is not the workflow's current one cannot write: after a reclaim, after a
-- release, after the workflow finished, or simply a wrong number. DU010: a null lease.
begin;
select plan(7);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'fence', p_lease_timeout => interval '10 seconds');
create temp table old as select lease from durable.workflows where id = 'fence';

select throws_ok(
  format($$ select * from durable.checkpoint('fence', %s, 0, 's', '1') $$, (select lease from old) + 1000),
  'DU001', null, 'a wrong lease raises DU001');
select throws_ok($$ select * from durable.checkpoint('fence', null, 0, 's', '1') $$,
  'DU010', 'lease must not be null', 'a null lease raises DU010');

select durable_test.advance(interval '11 seconds');
create temp table b as select lease from durable.claim('worker-b');
select throws_ok(
  format($$ select * from durable.checkpoint('fence', %s, 0, 's', '1') $$, (select lease from old)),
  'DU001', null, 'the lease of the previous owner raises DU001 after a reclaim');
select is((select count(*)::int from durable.steps), 0, 'nothing was recorded');

select durable.release('worker-b');
select throws_ok(
  format($$ select * from durable.checkpoint('fence', %s, 0, 's', '1') $$,
         (select lease from b)),
  'DU001', null, 'the last lease of a released (pending) workflow raises DU001');

create temp table c as select lease from durable.claim('worker-c');
select durable.complete('fence', (select lease from c), '"done"');
select throws_ok(
  format($$ select * from durable.checkpoint('fence', %s, 0, 's', '1') $$, (select lease from c)),
  'DU001', null, 'a finished workflow raises DU001');
select is((select count(*)::int from durable.steps), 0, 'nothing was ever recorded');

select * from finish();
rollback;
