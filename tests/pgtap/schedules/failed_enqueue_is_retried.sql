-- A schedule whose tick cannot be enqueued (here: its id is taken by a workflow of another
-- name, DU006) keeps that tick, shows the error in schedule_status.last_error and is tried
-- again at the next call; the other schedules are materialized meanwhile.
begin;
select plan(6);
select durable_test.pin('2030-01-01 00:00:00+00');
select * from durable.set_schedule('bad', '* * * * *', 'tick');
select * from durable.set_schedule('good', '* * * * *', 'tick');
select * from durable.enqueue('squatter', p_workflow_id => 'sched:bad:2030-01-01T00:01:00Z');

select durable_test.pin('2030-01-01 00:01:00+00');
select is(durable.materialize_schedules(), 1, 'the good schedule''s tick starts; the bad one''s cannot');
select alike((select last_error from durable.schedule_status where name = 'bad'), 'DU006: %',
  'last_error says why (DU006)');
select is((select next_tick from durable.schedules where name = 'bad'), '2030-01-01 00:01:00+00'::timestamptz,
  'the bad schedule keeps its tick');
delete from durable.workflows where id = 'sched:bad:2030-01-01T00:01:00Z';
select is(durable.materialize_schedules(), 1, 'at the next call it is tried again and starts');
select is((select last_error from durable.schedule_status where name = 'bad'), null, 'last_error is cleared');
select is((select name from durable.workflows where id = 'sched:bad:2030-01-01T00:01:00Z'), 'tick',
  'the tick ran as the schedule''s workflow');

select * from finish();
rollback;
