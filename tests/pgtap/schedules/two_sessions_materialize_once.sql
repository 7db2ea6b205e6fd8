-- Exactly once with two sessions materializing at once (dblink, real rows and locks): the one
-- that locks a due schedule starts its ticks; the other skips the locked row at once (no wait)
-- and, once the first commits, finds nothing due; a session whose snapshot predates the other's
-- commit (repeatable read) is refused (40001) rather than starting a tick again. What the
-- sessions commit is deleted at the end.
begin;
select plan(9);

select dblink_connect('sch_a', durable_test.connstr());
select dblink_connect('sch_b', durable_test.connstr());
select dblink_exec('sch_b', $$ set statement_timeout = '5s' $$);
select dblink_exec(c, $$ set durable.fake_now = '2030-01-01 00:00:00+00' $$)
  from unnest(array['sch_a', 'sch_b']) c;
select durable_test.remote('sch_a', $$
  select * from durable.set_schedule('two-sessions', '* * * * *', 'tick', p_missed => 'all',
                                     p_grace => '1 hour') $$);

-- five ticks due
select dblink_exec(c, $$ set durable.fake_now = '2030-01-01 00:05:00+00' $$)
  from unnest(array['sch_a', 'sch_b']) c;
select dblink_exec('sch_a', 'begin');
select is(durable_test.remote_rows('sch_a', $$ select durable.materialize_schedules() $$),
  '5', 'session A starts the five due ticks (its transaction still open)');
select is(durable_test.remote_rows('sch_b', $$ select durable.materialize_schedules() $$),
  '0', 'session B at the same time skips the schedule A holds, without waiting');
select dblink_exec('sch_a', 'commit');
select is(durable_test.remote_rows('sch_b', $$ select durable.materialize_schedules() $$),
  '0', 'once A has committed, B finds nothing due');

-- both again, both open, for the next tick: whichever locks first starts it
select dblink_exec(c, $$ set durable.fake_now = '2030-01-01 00:06:00+00' $$)
  from unnest(array['sch_a', 'sch_b']) c;
select dblink_exec(c, 'begin') from unnest(array['sch_a', 'sch_b']) c;
select is(
  (select array_agg(v order by v) from (
     select durable_test.remote_rows('sch_b', $$ select durable.materialize_schedules() $$) v
     union all
     select durable_test.remote_rows('sch_a', $$ select durable.materialize_schedules() $$)) x),
  array['0', '1'], 'two open transactions at the next tick: one starts it, the other nothing');
select dblink_exec(c, 'commit') from unnest(array['sch_a', 'sch_b']) c;

-- a snapshot older than the other's commit
select dblink_exec(c, $$ set durable.fake_now = '2030-01-01 00:07:00+00' $$)
  from unnest(array['sch_a', 'sch_b']) c;
select dblink_exec('sch_b', 'begin isolation level repeatable read');
select durable_test.remote_rows('sch_b', $$ select count(*) from durable.schedule_status $$);
select is(durable_test.remote_rows('sch_a', $$ select durable.materialize_schedules() $$),
  '1', 'A starts the 00:07 tick and commits');
select alike(durable_test.remote_rows('sch_b', $$ select durable.materialize_schedules() $$),
  'error 40001:%', 'B, whose snapshot predates A''s commit, is refused (serialization), not run twice');
select dblink_exec('sch_b', 'rollback');

select results_eq(
  $$ select v from durable_test.remote_rows('sch_b', $q$ select right(id, 20) from durable.workflows
       where id like 'sched:two-sessions:%' order by id $q$) v $$,
  $$ values ('2030-01-01T00:01:00Z'), ('2030-01-01T00:02:00Z'), ('2030-01-01T00:03:00Z'),
            ('2030-01-01T00:04:00Z'), ('2030-01-01T00:05:00Z'), ('2030-01-01T00:06:00Z'),
            ('2030-01-01T00:07:00Z') $$,
  'one workflow per tick, each tick once');
select is(durable_test.remote_rows('sch_b', $$ select next_tick from durable.schedules
                                                where name = 'two-sessions' $$),
  '2030-01-01 00:08:00+00', 'the next tick is 00:08');

select dblink_exec('sch_b', $$ delete from durable.workflows where id like 'sched:two-sessions:%' $$);
select dblink_exec('sch_b', $$ delete from durable.schedules where name = 'two-sessions' $$);
select is(
  durable_test.remote_rows('sch_b', $$ select (select count(*) from durable.workflows where id like 'sched:two-sessions:%')
                                             + (select count(*) from durable.schedules where name = 'two-sessions') $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('sch_a');
select dblink_disconnect('sch_b');

select * from finish();
rollback;
