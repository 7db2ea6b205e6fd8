-- heartbeat registers a worker or refreshes it: heartbeat_at now, expires_at now + lease timeout
-- (default durable.settings.default_lease_timeout); started_at stays.
begin;
select plan(4);
select durable_test.pin();

select is((select count(*)::int from durable.heartbeat('hb-1')), 0, 'a new worker holds nothing');
select results_eq($$ select started_at, heartbeat_at, lease_timeout, expires_at from durable.workers where id = 'hb-1' $$,
  $$ values (durable_test.t0(), durable_test.t0(), interval '30 seconds', durable_test.t0() + interval '30 seconds') $$,
  'it is registered with the default lease timeout');

select durable_test.advance(interval '1 second');
select durable.heartbeat('hb-1', interval '1 minute');
select results_eq($$ select started_at, heartbeat_at, lease_timeout, expires_at from durable.workers where id = 'hb-1' $$,
  $$ values (durable_test.t0(), durable_test.t0() + interval '1 second', interval '1 minute',
             durable_test.t0() + interval '61 seconds') $$,
  'a heartbeat always refreshes (even right after the last) and takes the new timeout');

update durable.settings set default_lease_timeout = interval '5 seconds';
select durable.heartbeat('hb-2');
select is((select expires_at from durable.workers where id = 'hb-2'), durable_test.t0() + interval '6 seconds',
  'the default comes from durable.settings');

select * from finish();
rollback;
