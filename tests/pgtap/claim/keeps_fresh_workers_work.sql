-- A worker whose heartbeat is fresh keeps its workflows, however old the claim: heartbeats, not
-- claim times, keep leases alive.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'fresh-1', p_lease_timeout => interval '10 seconds');
select durable_test.advance(interval '5 seconds');
select is((select count(*)::int from durable.claim('worker-b')), 0, 'within the lease timeout: not reclaimed');

select durable_test.advance(interval '4 seconds');
select durable.heartbeat('worker-a', interval '10 seconds');
select durable_test.advance(interval '9 seconds');
select is((select count(*)::int from durable.claim('worker-b')), 0,
  '18 s after the claim, 9 s after a heartbeat: not reclaimed');
select is((select owner from durable.workflows where id = 'fresh-1'), 'worker-a', 'A still owns it');

select durable_test.advance(interval '2 seconds');
select is((select workflow_id from durable.claim('worker-b')), 'fresh-1',
  '11 s after the last heartbeat it is reclaimed');

select * from finish();
rollback;
