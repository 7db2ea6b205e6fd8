-- durable.uuidv7() makes RFC 9562 version 7 UUIDs: 48 bits of Unix milliseconds from the
-- clock, version 7, the variant 10, random bits; as text, 36 lowercase characters.
begin;
select plan(7);

create temp table before as select pg_catalog.clock_timestamp() as at;
create temp table made as
select n, durable.uuidv7() as u,
       pg_catalog.clock_timestamp() as after
  from generate_series(1, 2000) n;

select is_empty(
  $$ select u from made where u::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' $$,
  'as text: 36 lowercase hex characters with dashes 8-4-4-4-12');

select is_empty(
  $$ select u from made where substr(u::text, 15, 1) <> '7' $$,
  'the version nibble (bits 48-51) is 7');

select is_empty(
  $$ select u from made where substr(u::text, 20, 1) not in ('8', '9', 'a', 'b') $$,
  'the variant bits (64-65) are binary 10');

-- the first 48 bits are the Unix time in milliseconds at the call (not later than the clock
-- read right after it in the same row, not earlier than the clock read before the statement)
select is_empty(
  $$ select u, after from made
      where ('x' || substr(replace(u::text, '-', ''), 1, 12))::bit(48)::bigint
            > floor(extract(epoch from after) * 1000)
         or ('x' || substr(replace(u::text, '-', ''), 1, 12))::bit(48)::bigint
            < floor(extract(epoch from (select at from before)) * 1000) $$,
  'the first 48 bits are the Unix time of the call in milliseconds');

select is((select count(distinct u)::int from made), 2000, '2,000 calls give 2,000 ids');

-- the last 62 bits are random: no two of 2,000 ids share them, and each of the 62 bits is
-- set in some id and clear in another
select is((select count(distinct substr(replace(u::text, '-', ''), 17))::int from made), 2000,
  'the random tails differ');
select is(
  (select bit_or(('x' || substr(replace(u::text, '-', ''), 17))::bit(64)) & ~bit_and(('x' || substr(replace(u::text, '-', ''), 17))::bit(64))
     from made),
  B'0011111111111111111111111111111111111111111111111111111111111111',
  'each of the 62 random bits varies (the two variant bits do not)');

select * from finish();
rollback;
