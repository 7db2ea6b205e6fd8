-- DU015: another login cannot release a worker's workflows (taking its work away), all of them
-- or a list; the worker's row and its workflows stay. The owner login can.
begin;
select plan(6);

create role durable_test_login_a login;
create role durable_test_login_b login;
grant durable_worker to durable_test_login_a, durable_test_login_b;
select durable.enqueue('wf', p_workflow_id => 'wi-rel-1');

set local session authorization durable_test_login_a;
select is((select workflow_id from durable.claim('wi-a')), 'wi-rel-1', 'login A claims as wi-a');

set local session authorization durable_test_login_b;
select throws_ok($$ select durable.release('wi-a') $$,
  'DU015', 'worker id wi-a belongs to another login',
  'login B cannot release all of wi-a''s workflows');
select throws_ok($$ select durable.release('wi-a', array['wi-rel-1']) $$,
  'DU015', 'worker id wi-a belongs to another login',
  'login B cannot release a workflow of wi-a');
reset session authorization;
select results_eq($$ select status, owner from durable.workflows where id = 'wi-rel-1' $$,
  $$ values ('running', 'wi-a') $$, 'wi-a still holds its workflow');
select is((select count(*)::int from durable.workers where id = 'wi-a'), 1, 'wi-a is still registered');

set local session authorization durable_test_login_a;
select is(durable.release('wi-a'), 1, 'login A releases wi-a''s workflow');
reset session authorization;

select * from finish();
rollback;
