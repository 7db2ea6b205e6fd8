-- durable.worker_status: each worker, whether its heartbeat is fresh, and how many workflows it
-- holds; readable by the observer role.
begin;
select plan(3);
select durable_test.pin();

select * from durable_test.start(p_worker => 'ws-a', p_lease_timeout => interval '10 seconds');
select * from durable_test.start(p_worker => 'ws-a', p_lease_timeout => interval '10 seconds');
select durable.heartbeat('ws-idle', interval '1 minute');
select durable_test.advance(interval '11 seconds');

select results_eq(
  $$ select id, started_at, heartbeat_at, lease_timeout, expires_at, alive, running from durable.worker_status order by id $$,
  $$ values ('ws-a'::text, durable_test.t0(), durable_test.t0(), interval '10 seconds',
             durable_test.t0() + interval '10 seconds', false, 2::bigint),
            ('ws-idle', durable_test.t0(), durable_test.t0(), interval '1 minute',
             durable_test.t0() + interval '1 minute', true, 0) $$,
  'an expired worker holding two workflows, a live idle one');

select durable.claim('ws-b', p_max => 5);
select results_eq($$ select id, alive, running from durable.worker_status order by id $$,
  $$ values ('ws-a'::text, false, 0::bigint), ('ws-b', true, 2), ('ws-idle', true, 0) $$,
  'after a reclaim the counts move to the new worker');

set local role durable_observer;
select results_eq($$ select id, running from durable.worker_status order by id $$,
  $$ values ('ws-a'::text, 0::bigint), ('ws-b', 2), ('ws-idle', 0) $$,
  'durable_observer can read it');
reset role;

select * from finish();
rollback;
