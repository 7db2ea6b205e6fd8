-- DU011: a lease timeout over durable.settings.max_lease_timeout (default 1 hour), or infinite,
-- is refused by every function that takes one (claim, heartbeat, complete_and_claim), with a
-- message naming the limit and the setting: a worker that dies holding work must be recovered.
-- Nothing is written. The limit itself is accepted, and raising the setting allows more.
begin;
select plan(12);

select throws_ok($$ select * from durable.claim('lt-w', p_lease_timeout => interval '2 hours') $$,
  'DU011', 'lease timeout 02:00:00 is over the limit of 01:00:00 set by durable.settings.max_lease_timeout',
  'claim refuses a lease timeout of 2 hours');
select throws_ok($$ select * from durable.claim('lt-w', p_lease_timeout => interval '1000 years') $$,
  'DU011', null, 'claim refuses a lease timeout of 1000 years');
select throws_ok($$ select * from durable.heartbeat('lt-w', interval '1000 years') $$,
  'DU011', 'lease timeout 1000 years is over the limit of 01:00:00 set by durable.settings.max_lease_timeout',
  'heartbeat refuses a lease timeout of 1000 years');
select * from durable_test.start(p_workflow_id => 'lt-1', p_worker => 'lt-w');
select set_config('lt.lease', lease::text, true) from durable.workflows where id = 'lt-1';
select throws_ok(format($$ select * from durable.complete_and_claim('lt-1', %s, '1', 'lt-w',
                                       p_lease_timeout => interval '1 hour 1 second') $$,
                        current_setting('lt.lease')),
  'DU011', null, 'complete_and_claim refuses a lease timeout over the limit');
select is((select status from durable.workflows where id = 'lt-1'), 'running',
  'the refused complete_and_claim completed nothing');
select results_eq($$ select id, lease_timeout from durable.workers $$,
  $$ values ('lt-w', interval '30 seconds') $$, 'the refused calls wrote no worker row');

select is((select max_lease_timeout from durable.settings), interval '1 hour',
  'the limit is 1 hour by default');

select * from (
  select case when current_setting('server_version_num')::int >= 170000
              then throws_ok($$ select * from durable.claim('lt-w', p_lease_timeout => 'infinity'::interval) $$,
                             'DU011', null, 'claim refuses an infinite lease timeout')
              else skip('infinite intervals exist from PostgreSQL 17 on', 1) end) x;

select is((select count(*)::int from durable.heartbeat('lt-w', interval '1 hour')), 1,
  'the limit itself is accepted');

-- a worker whose heartbeat is fresh (the claim's fast path, which does not write its row):
-- lowering the limit under its timeout refuses its next claim with that timeout
update durable.settings set max_lease_timeout = interval '30 minutes';
select throws_ok($$ select * from durable.claim('lt-w', p_lease_timeout => interval '1 hour') $$,
  'DU011', 'lease timeout 01:00:00 is over the limit of 00:30:00 set by durable.settings.max_lease_timeout',
  'a fresh worker''s claim is refused once the limit is lowered');

update durable.settings set max_lease_timeout = interval '3 hours';
select is((select count(*)::int from durable.claim('lt-w', p_lease_timeout => interval '2 hours')), 0,
  'raising the setting allows a longer lease timeout');
select is((select lease_timeout from durable.workers where id = 'lt-w'), interval '2 hours',
  'and the worker runs with it');

select * from finish();
rollback;
