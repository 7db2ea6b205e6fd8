-- Ticks materialized more than the schedule's grace after their time were missed (nothing
-- materialized them): 'skip' drops them, 'once' starts one run for them (the latest), 'all'
-- starts one per missed tick, oldest first (at most 1000 per call, the rest at the next calls).
-- Ticks within the grace always run, each once.
begin;
select plan(12);
select durable_test.pin('2030-01-01 00:00:00+00');
select s.* from unnest(array['skip', 'once', 'all']) p,
       lateral durable.set_schedule(p, '* * * * *', 'tick', p_missed => p, p_grace => '2 minutes') s;

-- nothing ran for ten minutes: ticks 00:01 .. 00:10, of which 00:08 .. 00:10 within the grace
select durable_test.pin('2030-01-01 00:10:00+00');
select is(durable.materialize_schedules(), 3 + 4 + 10, 'skip 3, once 1 + 3, all 10');
select results_eq(
  $$ select right(id, 20) from durable.workflows where id like 'sched:skip:%' order by id $$,
  $$ values ('2030-01-01T00:08:00Z'), ('2030-01-01T00:09:00Z'), ('2030-01-01T00:10:00Z') $$,
  'skip: only the ticks within the grace');
select results_eq(
  $$ select right(id, 20) from durable.workflows where id like 'sched:once:%' order by id $$,
  $$ values ('2030-01-01T00:07:00Z'), ('2030-01-01T00:08:00Z'), ('2030-01-01T00:09:00Z'),
            ('2030-01-01T00:10:00Z') $$,
  'once: one run for the missed ticks (the latest, 00:07), then those within the grace');
select is((select count(*)::integer from durable.workflows where id like 'sched:all:%'), 10,
  'all: every tick, 00:01 to 00:10');
select is((select min(id) from durable.workflows where id like 'sched:all:%'), 'sched:all:2030-01-01T00:01:00Z',
  'all: from the first missed one');
select results_eq($$ select name, next_tick from durable.schedules order by name $$,
  $$ values ('all'::text, '2030-01-01 00:11:00+00'::timestamptz), ('once', '2030-01-01 00:11:00+00'),
            ('skip', '2030-01-01 00:11:00+00') $$,
  'each goes on with the next tick after now');

-- a later tick within the grace is not missed, whatever the policy
select durable_test.pin('2030-01-01 00:12:30+00');
select is(durable.materialize_schedules(), 6, 'ticks 00:11 and 00:12, 2.5 minutes late at most: 2 each');

-- only missed ticks, an hour of them, with 'once': one run
select durable_test.pin('2030-01-01 01:20:00+00');
delete from durable.workflows;
select durable.pause_schedule('all');
select is(durable.materialize_schedules(), 3 + 4, 'skip: the 3 within the grace; once: 1 + 3');
select is((select min(id) from durable.workflows where id like 'sched:once:%'), 'sched:once:2030-01-01T01:17:00Z',
  'once: the run for the missed hour is its latest missed tick');

-- all, bounded: 1,500 missed ticks
select durable.resume_schedule('all');
update durable.schedules set next_tick = '2030-01-01 01:20:00+00'::timestamptz - interval '1500 minutes'
 where name = 'all';
select is(durable.materialize_schedules(10000), 1000, 'all: at most 1000 ticks of a schedule in one call');
select is(durable.materialize_schedules(10000), 501, 'the rest at the next call (with 01:20 itself)');
select is((select count(*)::integer from durable.workflows where id like 'sched:all:%'), 1501,
  'each missed tick once');

select * from finish();
rollback;
