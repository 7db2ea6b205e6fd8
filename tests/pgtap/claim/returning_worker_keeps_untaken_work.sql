-- A worker whose heartbeat expired but whose workflows nobody took keeps them when it comes
-- back: its next claim refreshes its heartbeat first, and its lease still writes.
begin;
select plan(3);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'back', p_lease_timeout => interval '10 seconds');
create temp table l as select lease from durable.workflows where id = 'back';
select durable_test.advance(interval '1 minute');

select is((select count(*)::int from durable.claim('worker-a', p_lease_timeout => interval '10 seconds')), 0,
  'the returning worker''s claim does not hand it its own workflow again');
select results_eq($$ select owner, lease, claims from durable.workflows where id = 'back' $$,
  $$ select 'worker-a'::text, (select lease from l), 1 $$, 'it still holds it with the same lease');
select results_eq($$ select recorded from durable.checkpoint('back', (select lease from l), 0, 's', '1') $$,
  $$ values (true) $$, 'and its lease still writes');

select * from finish();
rollback;
