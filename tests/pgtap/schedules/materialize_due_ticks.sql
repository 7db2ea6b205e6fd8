-- durable.materialize_schedules starts each due tick as a workflow with the deterministic id
-- sched:<name>:<tick in UTC>, returns how many it started, and starts none twice: not when called
-- again, not when a schedule is set back to an earlier tick. p_limit bounds the workflows of one
-- call; the rest go on at the next.
begin;
select plan(16);
select durable_test.pin('2030-01-01 00:00:00+00');
select durable.set_queue('sched_q');
select * from durable.set_schedule('a', '* * * * *', 'tick_a', '{"n": 1}', 'sched_q');
select * from durable.set_schedule('b', '*/2 * * * *', 'tick_b');

select is(durable.materialize_schedules(), 0, 'nothing due yet: 0');
select durable_test.pin('2030-01-01 00:01:00+00');
select is(durable.materialize_schedules(), 1, 'at 00:01:00 a''s tick is due: 1 started');
select results_eq(
  $$ select id, name, queue, input, status, run_at from durable.workflows order by id $$,
  $$ values ('sched:a:2030-01-01T00:01:00Z'::text, 'tick_a'::text, 'sched_q'::text, '{"n": 1}'::jsonb,
             'pending'::text, '2030-01-01 00:01:00+00'::timestamptz) $$,
  'the tick is a pending workflow: id from the schedule and the tick, the schedule''s name, queue and input');
select is(durable.materialize_schedules(), 0, 'called again: nothing more');
select results_eq(
  $$ select next_tick, last_tick, last_workflow_id, last_status from durable.schedule_status where name = 'a' $$,
  $$ values ('2030-01-01 00:02:00+00'::timestamptz, '2030-01-01 00:01:00+00'::timestamptz,
             'sched:a:2030-01-01T00:01:00Z'::text, 'pending'::text) $$,
  'schedule_status: next tick, last tick, last workflow and its status');

select durable_test.pin('2030-01-01 00:02:30+00');
select is(durable.materialize_schedules(), 2, 'at 00:02:30: a''s and b''s 00:02 ticks');
select is((select queue from durable.workflows where id = 'sched:b:2030-01-01T00:02:00Z'), 'default',
  'a schedule without a queue uses the registered default, else default');

-- set back to an earlier tick (a new cron, then the old one, from an earlier clock)
select durable_test.pin('2030-01-01 00:00:30+00');
select * from durable.set_schedule('a', '*/1 * * * *');
select durable_test.pin('2030-01-01 00:02:40+00');
select is(durable.materialize_schedules(), 0,
  'ticks started before are not started again (their ids exist), and not counted');
select is((select count(*)::integer from durable.workflows where id like 'sched:a:%'), 2,
  'still one workflow per tick of a');
select is((select next_tick from durable.schedules where name = 'a'), '2030-01-01 00:03:00+00'::timestamptz,
  'and its next tick moved on');

-- the limit
select * from durable.set_schedule('c', '* * * * * *', 'tick_c', p_missed => 'all', p_grace => '1 hour');
select durable_test.pin('2030-01-01 00:02:50+00');
select is(durable.materialize_schedules(3), 3, 'p_limit 3: three workflows started');
select is((select next_tick from durable.schedules where name = 'c'), '2030-01-01 00:02:44+00'::timestamptz,
  'the schedule goes on from its first tick not started');
select is(durable.materialize_schedules(100), 7, 'the next call starts the rest (00:02:44 to 00:02:50)');
select is((select count(*)::integer from durable.workflows where id like 'sched:c:%'), 10,
  'ten ticks of c, one workflow each');

select throws_ok($$ select durable.materialize_schedules(0) $$, 'DU011', null, 'p_limit 0: DU011');
select throws_ok($$ select durable.materialize_schedules(null) $$, 'DU010', null, 'p_limit null: DU010');

select * from finish();
rollback;
