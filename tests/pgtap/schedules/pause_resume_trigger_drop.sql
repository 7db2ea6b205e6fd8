-- pause_schedule stops materialization, resume_schedule starts again from the first tick after
-- now (ticks while paused are not missed ticks), trigger_schedule runs it now once, paused or
-- not, and drop_schedule removes it (its runs stay). DU017 for an unknown schedule.
begin;
select plan(17);
select durable_test.pin('2030-01-01 00:00:00+00');
select * from durable.set_schedule('s', '* * * * *', 'tick', '{"from": "s"}', p_missed => 'all');

select is(durable.pause_schedule('s'), 'paused', 'pause: paused');
select is(durable.pause_schedule('s'), 'paused', 'pause again: idempotent');
select results_eq($$ select enabled, next_tick from durable.schedule_status where name = 's' $$,
  $$ values (false, null::timestamptz) $$, 'paused: no next tick');
select durable_test.pin('2030-01-01 00:10:30+00');
select is(durable.materialize_schedules(), 0, 'a paused schedule is not materialized');
select is(durable.resume_schedule('s'), '2030-01-01 00:11:00+00'::timestamptz,
  'resume: from the first tick after now');
select is(durable.materialize_schedules(), 0,
  'the ten minutes while paused are not run, even with missed = all');
select is(durable.resume_schedule('s'), '2030-01-01 00:11:00+00'::timestamptz,
  'resuming a running schedule changes nothing');

select is(durable.trigger_schedule('s'), 'sched:s:trigger:2030-01-01T00:10:30.000000Z',
  'trigger: a run now, its id saying so');
select results_eq($$ select name, input, status from durable.workflows
                      where id = 'sched:s:trigger:2030-01-01T00:10:30.000000Z' $$,
  $$ values ('tick'::text, '{"from": "s"}'::jsonb, 'pending'::text) $$,
  'the triggered run is the schedule''s workflow with its input');
select results_eq($$ select next_tick, last_workflow_id from durable.schedule_status where name = 's' $$,
  $$ values ('2030-01-01 00:11:00+00'::timestamptz, 'sched:s:trigger:2030-01-01T00:10:30.000000Z'::text) $$,
  'the next tick is unchanged; the trigger is its last run');
select durable.pause_schedule('s');
select durable_test.advance('1 second');
select is(durable.trigger_schedule('s'), 'sched:s:trigger:2030-01-01T00:10:31.000000Z',
  'a paused schedule can be triggered');

select throws_ok($$ select durable.pause_schedule('nope') $$, 'DU017', 'unknown schedule nope',
  'pause of an unknown schedule: DU017');
select throws_ok($$ select durable.resume_schedule('nope') $$, 'DU017', null, 'resume: DU017');
select throws_ok($$ select durable.trigger_schedule('nope') $$, 'DU017', null, 'trigger: DU017');
select throws_ok($$ select durable.pause_schedule(null) $$, 'DU010', null, 'a null name: DU010');

select is(durable.drop_schedule('s'), true, 'drop: true when it existed');
select is(durable.drop_schedule('s'), false, 'false when it did not');

select * from finish();
rollback;
