-- durable.set_schedule creates a schedule or changes only the settings given; its next tick is
-- the first after now and is kept unless the cron, the zone or the pause changes; every refusal.
begin;
select plan(22);
select durable_test.pin('2030-01-01 00:00:10+00');

select results_eq(
  $$ select * from durable.set_schedule('every-5', '*/5 * * * *', 'report') $$,
  $$ values (true, '2030-01-01 00:05:00+00'::timestamptz) $$,
  'a new schedule: created, its next tick the first after now');
select results_eq(
  $$ select name, cron, time_zone, workflow_name, queue, enabled, missed, grace, next_tick, due,
            last_tick, last_workflow_id
       from durable.schedule_status where name = 'every-5' $$,
  $$ values ('every-5'::text, '*/5 * * * *'::text, 'UTC'::text, 'report'::text, null::text, true,
             'skip'::text, interval '1 minute', '2030-01-01 00:05:00+00'::timestamptz, false,
             null::timestamptz, null::text) $$,
  'schedule_status: the defaults (UTC, the registered queue, enabled, skip, grace 1 minute)');
select is((select input from durable.schedules where name = 'every-5'), 'null'::jsonb, 'input defaults to JSON null');

select durable_test.pin('2030-01-01 00:02:00+00');
select results_eq(
  $$ select * from durable.set_schedule('every-5', p_input => '{"k": 1}', p_missed => 'all') $$,
  $$ values (false, '2030-01-01 00:05:00+00'::timestamptz) $$,
  'a change of input and policy: not created, the next tick kept');
select results_eq(
  $$ select cron, workflow_name, missed, input from durable.schedules where name = 'every-5' $$,
  $$ values ('*/5 * * * *'::text, 'report'::text, 'all'::text, '{"k": 1}'::jsonb) $$,
  'only the settings given changed');
select results_eq(
  $$ select * from durable.set_schedule('every-5', '0 * * * *', p_time_zone => 'Asia/Kolkata') $$,
  $$ values (false, '2030-01-01 00:30:00+00'::timestamptz) $$,
  'a new cron and zone: the next tick is computed again (06:00 in Kolkata, UTC+05:30)');
select is((select time_zone from durable.schedules where name = 'every-5'), 'Asia/Kolkata', 'the zone is kept');
select durable.set_queue('reports');
select results_eq(
  $$ select * from durable.set_schedule('q', '@daily', 'report', p_queue => 'reports',
                                        p_enabled => false, p_grace => '10 seconds') $$,
  $$ values (true, null::timestamptz) $$,
  'created paused: no next tick');
select results_eq(
  $$ select queue, enabled, grace, next_tick from durable.schedule_status where name = 'q' $$,
  $$ values ('reports'::text, false, interval '10 seconds', null::timestamptz) $$,
  'queue, pause and grace as given');
select results_eq(
  $$ select * from durable.set_schedule('q', p_enabled => true) $$,
  $$ values (false, '2030-01-02 00:00:00+00'::timestamptz) $$,
  'enabled through set_schedule: its next tick after now');

-- refusals
select throws_ok($$ select * from durable.set_schedule(null, '* * * * *', 'wf') $$, 'DU010', null, 'null name: DU010');
select throws_ok($$ select * from durable.set_schedule('', '* * * * *', 'wf') $$, 'DU010', null, 'empty name: DU010');
select throws_ok($$ select * from durable.set_schedule(repeat('n', 151), '* * * * *', 'wf') $$, 'DU011', null,
  'a name over 150 characters: DU011');
select throws_ok($$ select * from durable.set_schedule('new', null, 'wf') $$, 'DU010', null,
  'a new schedule without cron: DU010');
select throws_ok($$ select * from durable.set_schedule('new', '* * * * *') $$, 'DU010', null,
  'a new schedule without a workflow name: DU010');
select throws_ok($$ select * from durable.set_schedule('new', '61 * * * *', 'wf') $$, 'DU011', null,
  'a bad cron: DU011');
select throws_ok($$ select * from durable.set_schedule('new', '0 0 31 4 *', 'wf') $$, 'DU011',
  $$cron expression '0 0 31 4 *' never fires$$, 'a cron that never fires: DU011');
select throws_ok($$ select * from durable.set_schedule('new', '* * * * *', 'wf', p_time_zone => 'Berlin') $$,
  'DU011', null, 'an unknown time zone: DU011');
select throws_ok($$ select * from durable.set_schedule('new', '* * * * *', 'wf', p_missed => 'some') $$,
  'DU011', null, 'a bad missed policy: DU011');
select throws_ok($$ select * from durable.set_schedule('new', '* * * * *', 'wf', p_grace => '-1 second') $$,
  'DU011', null, 'a negative grace: DU011');
select throws_ok($$ select * from durable.set_schedule('new', '* * * * *', 'wf', p_queue => 'nope') $$,
  'DU004', null, 'an unknown queue: DU004');
select is((select count(*)::integer from durable.schedules where name = 'new'), 0,
  'nothing refused was written');

select * from finish();
rollback;
