-- DU015: another login cannot heartbeat under a worker id that is not its own (it would list
-- that worker's workflows and leases, and keep them alive). The owner login can, also after
-- the worker's heartbeat expired (a restarted pod keeps its name). Nothing is written.
begin;
select plan(7);

create role durable_test_login_a login;
create role durable_test_login_b login;
grant durable_worker to durable_test_login_a, durable_test_login_b;
select durable.enqueue('wf', p_workflow_id => 'wi-hb-1');

set local session authorization durable_test_login_a;
select is((select workflow_id from durable.claim('wi-a')), 'wi-hb-1', 'login A claims as wi-a');

set local session authorization durable_test_login_b;
select throws_ok($$ select * from durable.heartbeat('wi-a') $$,
  'DU015', 'worker id wi-a belongs to another login',
  'login B cannot heartbeat as wi-a');
select throws_ok($$ select * from durable.heartbeat('wi-a', interval '10 seconds') $$,
  'DU015', 'worker id wi-a belongs to another login',
  'login B cannot heartbeat as wi-a with a lease timeout of its own');
reset session authorization;
select is((select lease_timeout from durable.workers where id = 'wi-a'),
  (select default_lease_timeout from durable.settings),
  'the refused heartbeats wrote nothing');

-- wi-a died: its heartbeat expired; the same login heartbeats under that id again
update durable.workers set heartbeat_at = heartbeat_at - interval '1 hour',
                           expires_at = expires_at - interval '1 hour' where id = 'wi-a';
set local session authorization durable_test_login_b;
select throws_ok($$ select * from durable.heartbeat('wi-a') $$,
  'DU015', 'worker id wi-a belongs to another login',
  'login B cannot heartbeat as wi-a after its heartbeat expired either');
set local session authorization durable_test_login_a;
select is((select workflow_id from durable.heartbeat('wi-a')), 'wi-hb-1',
  'login A heartbeats as its dead worker wi-a and still holds its workflow');
reset session authorization;
select ok((select expires_at > now() from durable.workers where id = 'wi-a'),
  'wi-a is alive again');

select * from finish();
rollback;
