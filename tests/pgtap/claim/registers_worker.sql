-- Claiming registers the worker (durable.workers) with its lease timeout, even when there is
-- nothing to claim; frequent claims do not rewrite the row, a stale one is refreshed.
begin;
select plan(5);
select durable_test.pin();

select is((select count(*)::int from durable.claim('w-new', p_lease_timeout => interval '20 seconds')), 0,
  'nothing to claim');
select results_eq(
  $$ select id, started_at, heartbeat_at, lease_timeout, expires_at from durable.workers $$,
  $$ values ('w-new'::text, durable_test.t0(), durable_test.t0(), interval '20 seconds',
             durable_test.t0() + interval '20 seconds') $$,
  'the worker is registered with its lease timeout');

select durable_test.advance(interval '1 second');
select durable.claim('w-new', p_lease_timeout => interval '20 seconds');
select is((select heartbeat_at from durable.workers where id = 'w-new'), durable_test.t0(),
  'a claim within a tenth of the lease timeout does not rewrite the heartbeat');

select durable_test.advance(interval '2 seconds');
select durable.claim('w-new', p_lease_timeout => interval '20 seconds');
select results_eq(
  $$ select heartbeat_at, expires_at from durable.workers where id = 'w-new' $$,
  $$ values (durable_test.t0() + interval '3 seconds', durable_test.t0() + interval '23 seconds') $$,
  'a later claim refreshes the heartbeat');

select durable.claim('w-new');
select results_eq(
  $$ select lease_timeout, expires_at from durable.workers where id = 'w-new' $$,
  $$ values (interval '30 seconds', durable_test.t0() + interval '33 seconds') $$,
  'a claim with another lease timeout (the default, 30 s) updates it at once');

select * from finish();
rollback;
