-- durable.uuidv7() is strictly increasing within a session: across milliseconds (the time
-- prefix), within one (the sub-millisecond bits, plus one when the clock has not moved), and
-- when the clock steps back a little; a setting that is not its own is ignored.
begin;
select plan(7);

create temp table made as
select n, durable.uuidv7() as u from generate_series(1, 5000) n order by n;
select is_empty(
  $$ select * from (select n, u, lag(u) over (order by n) as prev from made) s where u <= prev $$,
  '5,000 ids made in a row each sort after the one before');

create temp table a as select durable.uuidv7() as u;
select pg_sleep(0.003);
create temp table b as select durable.uuidv7() as u;
select ok(
  ('x' || substr(replace((select u from b)::text, '-', ''), 1, 12))::bit(48)::bigint
    > ('x' || substr(replace((select u from a)::text, '-', ''), 1, 12))::bit(48)::bigint,
  'an id made milliseconds later has a later time prefix');
select ok((select u from b) > (select u from a), 'and sorts after the earlier one');

-- as if the clock had stepped back 10 minutes since the last call: the next id still comes after
select set_config('durable.uuidv7_last',
  (floor(extract(epoch from clock_timestamp()) * 4096000) + 2457600000)::bigint::text, false);
create temp table ahead as select current_setting('durable.uuidv7_last')::bigint as t;
create temp table c as select durable.uuidv7() as u;
select is(
  (('x' || substr(replace((select u from c)::text, '-', ''), 1, 12) || substr(replace((select u from c)::text, '-', ''), 14, 3))::bit(60)::bigint),
  (select t + 1 from ahead),
  'after the clock stepped back, the next id takes the last time plus one');

-- a value that is not the function's own is ignored
select set_config('durable.uuidv7_last', 'not a number', false);
select lives_ok($$ select durable.uuidv7() $$, 'a setting that is not digits is ignored');
select set_config('durable.uuidv7_last', '999999999999999999', false);
create temp table d as select durable.uuidv7() as u;
select ok(
  ('x' || substr(replace((select u from d)::text, '-', ''), 1, 12))::bit(48)::bigint
    <= floor(extract(epoch from clock_timestamp()) * 1000),
  'a setting far ahead of the clock is ignored: the id has the time of the call');
select ok(current_setting('durable.uuidv7_last') <> '999999999999999999',
  'and the setting is the new id''s time again');

select * from finish();
rollback;
