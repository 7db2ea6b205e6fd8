-- Invalid cron expressions and time zones are refused with their DU code: DU010 for a missing
-- expression or zone, DU011 for anything out of range or malformed.
begin;
select plan(23);
select durable_test.pin();

select throws_ok($$ select durable.cron_next(null) $$, 'DU010', null, 'a null expression: DU010');
select throws_ok($$ select durable.cron_next('   ') $$, 'DU010', null, 'a blank expression: DU010');
select throws_ok($$ select durable.cron_next('* * * *') $$, 'DU011',
  $$cron expression '* * * *' has 4 fields, expected 5 (or 6 with seconds first)$$,
  'four fields: DU011, saying how many it expects');
select throws_ok($$ select durable.cron_next('* * * * * * *') $$, 'DU011', null, 'seven fields: DU011');
select throws_ok($$ select durable.cron_next('60 * * * *') $$, 'DU011',
  'cron minute: 60 is out of range 0-59', 'minute 60: DU011 naming the field and its range');
select throws_ok($$ select durable.cron_next('0 24 * * *') $$, 'DU011', null, 'hour 24: DU011');
select throws_ok($$ select durable.cron_next('0 0 0 * *') $$, 'DU011', null, 'day of month 0: DU011');
select throws_ok($$ select durable.cron_next('0 0 32 * *') $$, 'DU011', null, 'day of month 32: DU011');
select throws_ok($$ select durable.cron_next('0 0 * 13 *') $$, 'DU011', null, 'month 13: DU011');
select throws_ok($$ select durable.cron_next('0 0 * * 8') $$, 'DU011', null, 'day of week 8: DU011');
select throws_ok($$ select durable.cron_next('0 0 * * fri-mon') $$, 'DU011',
  'cron day of week: range 5-1 runs backwards', 'a range that runs backwards: DU011');
select throws_ok($$ select durable.cron_next('*/0 * * * *') $$, 'DU011', null, 'step 0: DU011');
select throws_ok($$ select durable.cron_next('0 0 * foo *') $$, 'DU011',
  $$cron month: unknown name 'foo'$$, 'an unknown month name: DU011');
select throws_ok($$ select durable.cron_next('0 0 * * mon-') $$, 'DU011', null, 'a dangling range: DU011');
select throws_ok($$ select durable.cron_next('0,,5 * * * *') $$, 'DU011', null, 'an empty list item: DU011');
select throws_ok($$ select durable.cron_next('0 12 * * * extra') $$, 'DU011', null,
  'six fields whose first is not seconds: DU011');
select throws_ok($$ select durable.cron_next('@reboot') $$, 'DU011', null, '@reboot: DU011 (no such tick)');
select throws_ok($$ select durable.cron_next('99999999999 * * * *') $$, 'DU011', null,
  'a huge number: DU011, not an overflow');
select throws_ok($$ select durable.cron_next('* * * * *', 'Mars/Olympus') $$, 'DU011',
  $$unknown time zone 'Mars/Olympus'$$, 'an unknown time zone: DU011');
select throws_ok($$ select durable.cron_next('* * * * *', 'UTC+3') $$, 'DU011', null,
  'a POSIX offset (whose sign Postgres inverts) is not a zone name: DU011');
select throws_ok($$ select durable.cron_next('* * * * *', null) $$, 'DU010', null,
  'a null time zone: DU010');

select throws_ok($$ select durable.cron_next('* * * * *', 'UTC', 'infinity') $$, 'DU011', null,
  'after infinity: DU011 (no endless search)');
select throws_ok($$ select durable.cron_next('* * * * *', 'UTC', '-infinity') $$, 'DU011', null,
  'after -infinity: DU011');

select * from finish();
rollback;
