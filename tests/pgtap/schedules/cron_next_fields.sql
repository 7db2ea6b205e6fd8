-- durable.cron_next: the next tick strictly after p_after, for each piece of the syntax (POSIX
-- crontab fields with Vixie cron's syntax), in UTC. 2030-01-01 is a Tuesday.
begin;
select plan(22);
select durable_test.pin();

select is(durable.cron_next('* * * * *', 'UTC', '2030-01-01 00:00:00+00'),
  '2030-01-01 00:01:00+00'::timestamptz, 'every minute: the next minute, strictly after');
select is(durable.cron_next('* * * * *', 'UTC', '2030-01-01 00:00:30.5+00'),
  '2030-01-01 00:01:00+00'::timestamptz, 'from inside a minute: the next whole minute');
select is(durable.cron_next('*/15 * * * *', 'UTC', '2030-01-01 00:15:00+00'),
  '2030-01-01 00:30:00+00'::timestamptz, '*/15: steps from 0');
select is(durable.cron_next('10-20/5 * * * *', 'UTC', '2030-01-01 00:16:00+00'),
  '2030-01-01 00:20:00+00'::timestamptz, 'a range with a step');
select is(durable.cron_next('10-20/5 * * * *', 'UTC', '2030-01-01 00:20:00+00'),
  '2030-01-01 01:10:00+00'::timestamptz, 'past the range: the next hour''s first');
select is(durable.cron_next('50/5 * * * *', 'UTC', '2030-01-01 00:56:00+00'),
  '2030-01-01 01:50:00+00'::timestamptz, 'a/step runs from a to the end of the field');
select is(durable.cron_next('5,7,9 3 * * *', 'UTC', '2030-01-01 03:07:00+00'),
  '2030-01-01 03:09:00+00'::timestamptz, 'a list');
select is(durable.cron_next('30 2 * * *', 'UTC', '2030-01-01 03:00:00+00'),
  '2030-01-02 02:30:00+00'::timestamptz, 'a daily time already passed today: tomorrow');
select is(durable.cron_next('0 0 * feb,Apr *', 'UTC', '2030-01-01 00:00:00+00'),
  '2030-02-01 00:00:00+00'::timestamptz, 'month names, in any case');
select is(durable.cron_next('0 9 * * fri', 'UTC', '2030-01-01 00:00:00+00'),
  '2030-01-04 09:00:00+00'::timestamptz, 'a day name: the next Friday');
select is(durable.cron_next('0 9 * * 7', 'UTC', '2030-01-01 00:00:00+00'),
  '2030-01-06 09:00:00+00'::timestamptz, 'day of week 7 is Sunday');
select is(durable.cron_next('0 9 * * 0', 'UTC', '2030-01-01 00:00:00+00'),
  '2030-01-06 09:00:00+00'::timestamptz, 'and so is 0');
select is(durable.cron_next('0 9 15 * mon', 'UTC', '2030-01-01 10:00:00+00'),
  '2030-01-07 09:00:00+00'::timestamptz,
  'day of month and day of week both restricted: either matches (Vixie), the Monday first');
select is(durable.cron_next('0 9 2 * mon', 'UTC', '2030-01-01 10:00:00+00'),
  '2030-01-02 09:00:00+00'::timestamptz, '... or the day of month first');
select is(durable.cron_next('0 9 */2 * mon', 'UTC', '2030-01-01 10:00:00+00'),
  '2030-01-07 09:00:00+00'::timestamptz,
  'a day of month starting with * is unrestricted: both must match (the 7th is odd and a Monday)');
select is(durable.cron_next('0 0 29 2 *', 'UTC', '2030-01-01 00:00:00+00'),
  '2032-02-29 00:00:00+00'::timestamptz, 'the 29th of February: the next leap year');
select is(durable.cron_next('0 0 30 2 *', 'UTC', '2030-01-01 00:00:00+00'),
  null::timestamptz, 'an expression that never fires: null');
select is(durable.cron_next('*/10 * * * * *', 'UTC', '2030-01-01 00:00:05+00'),
  '2030-01-01 00:00:10+00'::timestamptz, 'six fields: seconds first');
select results_eq(
  $$ select durable.cron_next(e, 'UTC', '2030-01-01 00:00:00+00')
       from unnest(array['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight',
                         '@hourly']) with ordinality u(e, n) order by n $$,
  $$ values ('2031-01-01 00:00:00+00'::timestamptz), ('2031-01-01 00:00:00+00'),
            ('2030-02-01 00:00:00+00'), ('2030-01-06 00:00:00+00'), ('2030-01-02 00:00:00+00'),
            ('2030-01-02 00:00:00+00'), ('2030-01-01 01:00:00+00') $$,
  'the @names: yearly, annually, monthly, weekly (Sunday), daily, midnight, hourly');
select is(durable.cron_next('  0   12 * * *  '), '2030-01-01 12:00:00+00'::timestamptz,
  'defaults: UTC, after durable.now() (pinned); blanks around and between fields are fine');
select is(durable.cron_next('0 12 * * *', 'Asia/Tokyo', '2030-01-01 00:00:00+00'),
  '2030-01-01 03:00:00+00'::timestamptz, 'evaluated in the time zone given (noon in Tokyo)');
select is(durable.cron_next('0 0 1 1 *', 'UTC', '2030-06-01 00:00:00+00'),
  '2031-01-01 00:00:00+00'::timestamptz, 'half a year ahead');

select * from finish();
rollback;
