-- Daylight saving in two zones, both transitions each (Vixie cron's rules): a schedule with
-- fixed hours fires a local time that a jump forward skips once, at the first instant after the
-- jump, and a local time that a jump back repeats once, at its first occurrence; a schedule whose
-- hour field is every hour follows real time (nothing in the skipped hour, the repeated hour runs
-- again). 2026: Europe/Berlin jumps 02:00 -> 03:00 on March 29 (01:00Z) and 03:00 -> 02:00 on
-- October 25 (01:00Z); America/New_York 02:00 -> 03:00 on March 8 (07:00Z) and 02:00 -> 01:00
-- on November 1 (06:00Z).
begin;
select plan(14);

-- the ticks of p_cron in p_tz after p_after, p_n of them, in UTC
create function pg_temp.ticks(p_cron text, p_tz text, p_after timestamptz, p_n integer)
returns setof timestamptz language plpgsql as $$
declare
  v_t timestamptz := p_after;
begin
  for i in 1 .. p_n loop
    v_t := durable.cron_next(p_cron, p_tz, v_t);
    return next v_t;
  end loop;
end $$;

-- Europe/Berlin, spring
select results_eq(
  $$ select * from pg_temp.ticks('30 2 * * *', 'Europe/Berlin', '2026-03-27 12:00+00', 3) $$,
  $$ values ('2026-03-28 01:30+00'::timestamptz), ('2026-03-29 01:00+00'), ('2026-03-30 00:30+00') $$,
  'Berlin, spring: 02:30 does not exist on March 29: it fires once, at 03:00 CEST (the jump)');
select results_eq(
  $$ select * from pg_temp.ticks('0 2,3 * * *', 'Europe/Berlin', '2026-03-28 12:00+00', 3) $$,
  $$ values ('2026-03-29 01:00+00'::timestamptz), ('2026-03-30 00:00+00'), ('2026-03-30 01:00+00') $$,
  'Berlin, spring: 02:00 (skipped) and 03:00 fall on the same instant, so one tick, not two');
select results_eq(
  $$ select * from pg_temp.ticks('30 * * * *', 'Europe/Berlin', '2026-03-29 00:00+00', 3) $$,
  $$ values ('2026-03-29 00:30+00'::timestamptz), ('2026-03-29 01:30+00'), ('2026-03-29 02:30+00') $$,
  'Berlin, spring, every hour: real time, an hour apart (01:30 CET, 03:30 CEST, 04:30 CEST)');

-- Europe/Berlin, autumn
select results_eq(
  $$ select * from pg_temp.ticks('30 2 * * *', 'Europe/Berlin', '2026-10-24 12:00+00', 2) $$,
  $$ values ('2026-10-25 00:30+00'::timestamptz), ('2026-10-26 01:30+00') $$,
  'Berlin, autumn: 02:30 happens twice on October 25: it fires once, at the first (CEST)');
select results_eq(
  $$ select * from pg_temp.ticks('*/30 2 * * *', 'Europe/Berlin', '2026-10-24 12:00+00', 3) $$,
  $$ values ('2026-10-25 00:00+00'::timestamptz), ('2026-10-25 00:30+00'), ('2026-10-26 01:00+00') $$,
  'Berlin, autumn: the repeated hour 2 runs its ticks once (02:00 and 02:30 CEST, not CET)');
select results_eq(
  $$ select * from pg_temp.ticks('20,50 * * * *', 'Europe/Berlin', '2026-10-24 23:30+00', 6) $$,
  $$ values ('2026-10-24 23:50+00'::timestamptz), ('2026-10-25 00:20+00'), ('2026-10-25 00:50+00'),
            ('2026-10-25 01:20+00'), ('2026-10-25 01:50+00'), ('2026-10-25 02:20+00') $$,
  'Berlin, autumn, every hour: real time, the repeated hour runs again (02:20 and 02:50 CET too)');
select results_eq(
  $$ select * from pg_temp.ticks('30 2 * * *', 'Europe/Berlin', '2026-10-25 00:30+00', 1) $$,
  $$ values ('2026-10-26 01:30+00'::timestamptz) $$,
  'Berlin, autumn: after the first 02:30 the next tick is tomorrow''s, not the second 02:30');

-- America/New_York, spring
select results_eq(
  $$ select * from pg_temp.ticks('30 2 * * *', 'America/New_York', '2026-03-06 12:00+00', 3) $$,
  $$ values ('2026-03-07 07:30+00'::timestamptz), ('2026-03-08 07:00+00'), ('2026-03-09 06:30+00') $$,
  'New York, spring: 02:30 does not exist on March 8: it fires once, at 03:00 EDT');
select results_eq(
  $$ select * from pg_temp.ticks('15 1-4 * * *', 'America/New_York', '2026-03-08 05:00+00', 4) $$,
  $$ values ('2026-03-08 06:15+00'::timestamptz), ('2026-03-08 07:00+00'), ('2026-03-08 07:15+00'),
            ('2026-03-08 08:15+00') $$,
  'New York, spring: 01:15 EST, 02:15 (skipped: at 03:00 EDT), 03:15 EDT, 04:15 EDT');
select results_eq(
  $$ select * from pg_temp.ticks('0 * * * *', 'America/New_York', '2026-03-08 05:30+00', 3) $$,
  $$ values ('2026-03-08 06:00+00'::timestamptz), ('2026-03-08 07:00+00'), ('2026-03-08 08:00+00') $$,
  'New York, spring, hourly: real time (01:00 EST, 03:00 EDT, 04:00 EDT)');

-- America/New_York, autumn
select results_eq(
  $$ select * from pg_temp.ticks('30 1 * * *', 'America/New_York', '2026-10-31 12:00+00', 2) $$,
  $$ values ('2026-11-01 05:30+00'::timestamptz), ('2026-11-02 06:30+00') $$,
  'New York, autumn: 01:30 happens twice on November 1: it fires once, at the first (EDT)');
select results_eq(
  $$ select * from pg_temp.ticks('0 * * * *', 'America/New_York', '2026-11-01 04:30+00', 4) $$,
  $$ values ('2026-11-01 05:00+00'::timestamptz), ('2026-11-01 06:00+00'), ('2026-11-01 07:00+00'),
            ('2026-11-01 08:00+00') $$,
  'New York, autumn, hourly: real time (01:00 EDT, 01:00 EST, 02:00 EST, 03:00 EST)');
select results_eq(
  $$ select * from pg_temp.ticks('0 0 * * *', 'America/New_York', '2026-10-31 12:00+00', 2) $$,
  $$ values ('2026-11-01 04:00+00'::timestamptz), ('2026-11-02 05:00+00') $$,
  'New York: midnight before and after the change, 25 hours apart');
select is(
  (select array[count(*), count(distinct d)]::text || ' ' || max(t)::text
     from (select t, t - lag(t) over (order by t) as d
             from pg_temp.ticks('*/5 * * * *', 'America/New_York', '2026-11-01 04:00+00', 48) t) x),
  '{48,1} 2026-11-01 08:00:00+00',
  'New York, autumn, every 5 minutes: 48 ticks 5 minutes apart through the 4 real hours of the change');

select * from finish();
rollback;
