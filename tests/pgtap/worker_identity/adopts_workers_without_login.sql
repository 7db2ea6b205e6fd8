-- A worker registered before v0.2.0 has no login (durable.workers.login is null), nor have the
-- workflows it claimed (durable.workflows.owner_login). The first login that claims or
-- heartbeats under its id adopts it and its running workflows; from then on other logins are
-- refused (DU015), under its id and with its leases. Its workflows and leases stay as they were.
begin;
select plan(8);

create role durable_test_login_a login;
create role durable_test_login_b login;
grant durable_worker to durable_test_login_a, durable_test_login_b;
select durable.enqueue('wf', p_workflow_id => 'wi-old-1');
select durable.claim('wi-old');
select durable.heartbeat('wi-old2');
-- as v0.1.0 left them: workers without a login, workflows claimed without one
update durable.workers set login = null;
update durable.workflows set owner_login = null;

set local session authorization durable_test_login_a;
select is((select workflow_id from durable.heartbeat('wi-old')), 'wi-old-1',
  'login A heartbeats under the id of a worker without a login, and gets its workflow');
-- wi-old2's heartbeat is fresh: the claim's fast path must notice the missing login
select is((select count(*)::int from durable.claim('wi-old2')), 0, 'login A claims under wi-old2');
reset session authorization;
select results_eq($$ select id, login::text from durable.workers order by id $$,
  $$ values ('wi-old', 'durable_test_login_a'), ('wi-old2', 'durable_test_login_a') $$,
  'login A adopted both workers');

set local session authorization durable_test_login_b;
select throws_ok($$ select * from durable.heartbeat('wi-old') $$, 'DU015', null,
  'login B cannot heartbeat as the adopted worker');
select throws_ok($$ select * from durable.claim('wi-old2') $$, 'DU015', null,
  'login B cannot claim as the adopted worker');
reset session authorization;
select set_config('wi.lease', lease::text, true) from durable.workflows where id = 'wi-old-1';
set local session authorization durable_test_login_b;
select throws_ok(format($$ select * from durable.checkpoint('wi-old-1', %s, 0, 's', '1') $$,
                        current_setting('wi.lease')),
  'DU015', null, 'login B cannot use the adopted worker''s lease');
set local session authorization durable_test_login_a;
select results_eq(format($$ select recorded from durable.checkpoint('wi-old-1', %s, 0, 's', '1') $$,
                         current_setting('wi.lease')),
  $$ values (true) $$, 'login A checkpoints with the lease the worker had before');
reset session authorization;
select is((select owner from durable.workflows where id = 'wi-old-1'), 'wi-old',
  'the workflow is still held by wi-old');

select * from finish();
rollback;
