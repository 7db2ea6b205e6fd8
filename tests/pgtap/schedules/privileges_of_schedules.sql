-- Who may do what with schedules: the worker materializes; the client creates, pauses, resumes,
-- triggers and drops (a schedule is a standing enqueue); every role may call cron_next and read
-- schedule_status (no input in it); no role touches durable.schedules.
begin;
select plan(16);
select durable_test.pin('2030-01-01 00:00:00+00');

select table_privs_are('durable', 'schedules', r, array[]::text[], r || ' has no privilege on durable.schedules')
  from unnest(array['durable_worker', 'durable_client', 'durable_observer', 'durable_payload_reader']) r;
select table_privs_are('durable', 'schedule_status', r, array['SELECT'], r || ' may only read durable.schedule_status')
  from unnest(array['durable_worker', 'durable_client', 'durable_observer', 'durable_payload_reader']) r;

set local role durable_client;
select results_eq($$ select created from durable.set_schedule('role-s', '* * * * *', 'wf', '{"secret": 1}') $$,
  $$ values (true) $$, 'durable_client can create a schedule');
select throws_ok($$ select durable.materialize_schedules() $$, '42501', null, 'durable_client cannot materialize');
reset role;

set local role durable_worker;
select throws_ok($$ select * from durable.set_schedule('role-w', '* * * * *', 'wf') $$, '42501', null,
  'durable_worker cannot create a schedule (it cannot enqueue either)');
select throws_ok($$ select durable.pause_schedule('role-s') $$, '42501', null, 'durable_worker cannot pause one');
reset role;
select durable_test.pin('2030-01-01 00:01:00+00');
set local role durable_worker;
select is(durable.materialize_schedules(), 1, 'durable_worker can materialize');
reset role;

set local role durable_observer;
select is((select last_workflow_id from durable.schedule_status where name = 'role-s'),
  'sched:role-s:2030-01-01T00:01:00Z', 'durable_observer reads schedule_status');
select is(durable.cron_next('@hourly', 'UTC', '2030-01-01 00:00:00+00'), '2030-01-01 01:00:00+00'::timestamptz,
  'durable_observer may call cron_next');
select throws_ok($$ select durable.trigger_schedule('role-s') $$, '42501', null, 'durable_observer cannot trigger');
reset role;

select * from finish();
rollback;
