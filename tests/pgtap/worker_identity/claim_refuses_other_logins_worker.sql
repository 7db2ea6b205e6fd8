-- DU015: a worker id belongs to the login (session_user) that registered it. Another login's
-- claim under that id is refused, whether the worker's heartbeat is fresh (the claim's fast
-- path, which does not write the worker row) or stale, and so is complete_and_claim's claim;
-- nothing is written. The owner's own claims still work. Two logins: roles created here, rolled
-- back at the end.
begin;
select plan(9);

create role durable_test_login_a login;
create role durable_test_login_b login;
grant durable_worker to durable_test_login_a, durable_test_login_b;
select durable.enqueue('wf', p_workflow_id => 'wi-claim-1');
select durable.enqueue('wf', p_workflow_id => 'wi-claim-2');

set local session authorization durable_test_login_a;
select is((select workflow_id from durable.claim('wi-a')), 'wi-claim-1', 'login A claims as wi-a');

set local session authorization durable_test_login_b;
select throws_ok($$ select * from durable.claim('wi-a') $$,
  'DU015', 'worker id wi-a belongs to another login',
  'login B cannot claim as wi-a while its heartbeat is fresh');
select is((select workflow_id from durable.claim('wi-b')), 'wi-claim-2', 'login B claims as wi-b');

reset session authorization;
select durable.enqueue('wf', p_workflow_id => 'wi-claim-3');
select set_config('wi.lease_b', lease::text, true) from durable.workflows where id = 'wi-claim-2';
set local session authorization durable_test_login_b;
select throws_ok(
  format($$ select * from durable.complete_and_claim('wi-claim-2', %s, '1', 'wi-a') $$,
         current_setting('wi.lease_b')),
  'DU015', 'worker id wi-a belongs to another login',
  'login B cannot complete_and_claim for wi-a, even completing its own workflow');
reset session authorization;
select is((select status from durable.workflows where id = 'wi-claim-2'), 'running',
  'the refused complete_and_claim completed nothing');

-- wi-a's heartbeat is stale: the claim goes through the registration path, still refused
update durable.workers set heartbeat_at = heartbeat_at - interval '1 hour',
                           expires_at = expires_at - interval '1 hour' where id = 'wi-a';
set local session authorization durable_test_login_b;
select throws_ok($$ select * from durable.claim('wi-a') $$,
  'DU015', 'worker id wi-a belongs to another login',
  'login B cannot claim as wi-a after its heartbeat expired');
reset session authorization;
select is((select owner from durable.workflows where id = 'wi-claim-1'), 'wi-a',
  'wi-a''s workflow was not taken by the refused claims');
select is((select status from durable.workflows where id = 'wi-claim-3'), 'pending',
  'the refused claims took nothing');

set local session authorization durable_test_login_a;
select is((select count(*)::int from durable.claim('wi-a', p_max => 5)), 1,
  'login A still claims as wi-a (a restarted worker keeps its id)');
reset session authorization;

select * from finish();
rollback;
