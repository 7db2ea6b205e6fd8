-- What the grants mean in practice: each role can do its job through the functions, and is
-- refused (42501) when it touches a table or a function that is not its own.
begin;
select plan(17);
select durable_test.pin();

-- durable_client
set local role durable_client;
select throws_ok($$ select * from durable.workflows $$, '42501', null, 'durable_client cannot read durable.workflows');
select results_eq($$ select created from durable.enqueue('wf', p_workflow_id => 'role-1') $$,
  $$ values (true) $$, 'durable_client can enqueue');
select is((select status from durable.runs where id = 'role-1'), 'pending', 'durable_client can read the views');
select throws_ok($$ select * from durable.claim('w') $$, '42501', null, 'durable_client cannot claim');
select throws_ok($$ select * from durable.fence('role-1', 1) $$, '42501', null, 'durable_client cannot call an internal function');
select throws_ok($$ select durable.set_queue('q') $$, '42501', null, 'durable_client cannot configure queues');
reset role;

-- durable_worker
set local role durable_worker;
select is((select workflow_id from durable.claim('w')), 'role-1', 'durable_worker can claim');
select results_eq(
  $$ select recorded from durable.checkpoint('role-1', (select lease from durable.heartbeat('w')), 0, 's', '1') $$,
  $$ values (true) $$, 'durable_worker can checkpoint');
select throws_ok($$ select * from durable.enqueue('wf') $$, '42501', null, 'durable_worker cannot enqueue');
select throws_ok($$ update durable.workflows set status = 'succeeded' $$, '42501', null, 'durable_worker cannot write a table');
select throws_ok($$ select nextval('durable.lease_seq') $$, '42501', null, 'durable_worker cannot take a lease number');
reset role;

-- durable_observer
set local role durable_observer;
select is((select count(*)::int from durable.run_steps_meta where workflow_id = 'role-1'), 1,
  'durable_observer can read the payload-free views');
select throws_ok($$ select output from durable.run_steps $$, '42501', null,
  'durable_observer cannot read step outputs');
select throws_ok($$ select input from durable.runs $$, '42501', null,
  'durable_observer cannot read workflow inputs');
select throws_ok($$ select * from durable.steps $$, '42501', null, 'durable_observer cannot read a table');
select throws_ok($$ select * from durable.result('role-1') $$, '42501', null, 'durable_observer cannot call result');
reset role;

-- durable_payload_reader
set local role durable_payload_reader;
select is((select output from durable.run_steps where workflow_id = 'role-1'), '1'::jsonb,
  'durable_payload_reader can read step outputs');
reset role;

select * from finish();
rollback;
