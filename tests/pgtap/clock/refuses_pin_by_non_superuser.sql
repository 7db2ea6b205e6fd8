-- Only a superuser session may pin the clock: otherwise a worker could move its clock forward
-- and expire other workers' leases (DU009). The check is on the session user, so a superuser
-- session that only sets a role keeps its pinned clock.
begin;
select plan(8);

select durable.enqueue('clock', p_workflow_id => 'clock-pin');
select durable_test.pin();

-- a superuser session that switched role: still its pinned clock
set local role durable_client;
select durable.enqueue('clock', p_workflow_id => 'clock-as-client');
reset role;
select is((select created_at from durable.workflows where id = 'clock-as-client'),
  durable_test.t0(), 'a superuser session acting as durable_client may use the pinned clock');

-- a session of a non-superuser: refused (a superuser may become any role's session user)
set local session authorization durable_client;
select throws_ok($$ select durable.cancel('clock-pin') $$, 'DU009', null,
  'cancel in a non-superuser session that pins durable.fake_now gets DU009');
select throws_ok($$ select * from durable.enqueue('clock') $$, 'DU009', null,
  'enqueue refuses the pinned clock of a non-superuser session');
reset session authorization;
set local session authorization durable_worker;
select throws_ok($$ select * from durable.claim('clock-worker') $$, 'DU009', null,
  'claim refuses the pinned clock of a non-superuser session');
-- the worker's hot functions read the setting inline and call durable.now() when it is set
select throws_ok($$ select * from durable.checkpoint('clock-pin', 1, 0, 's') $$, 'DU009', null,
  'checkpoint refuses the pinned clock of a non-superuser session');
select throws_ok($$ select * from durable.complete_and_claim('clock-pin', 1, '1', 'clock-worker') $$,
  'DU009', null, 'complete_and_claim refuses the pinned clock of a non-superuser session');
reset session authorization;
set local session authorization durable_client;

-- the same session with the clock unpinned works
set local durable.fake_now = '';
select is(durable.cancel('clock-pin'), 'cancelled',
  'with durable.fake_now reset the non-superuser session works');
reset session authorization;

select is((select status from durable.workflows where id = 'clock-pin'), 'cancelled',
  'and its change is made');

select * from finish();
rollback;
