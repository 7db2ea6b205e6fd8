-- durable.uuidv7s(n) gives n version 7 UUIDs numbered 1..n in increasing order, continuing
-- after the last id the session made (and the next call continues after them); no rows for a
-- count that is null or under 1.
begin;
select plan(7);

create temp table s1 as select * from durable.uuidv7s(3000);
create temp table one as select durable.uuidv7() as u;
create temp table s2 as select * from durable.uuidv7s(3000);

select results_eq($$ select n from s1 order by n $$, $$ select generate_series(1, 3000)::bigint $$,
  'numbered 1..p_count');
select is_empty(
  $$ select * from (select n, id, lag(id) over (order by n) as prev from s1) s where id <= prev $$,
  'each id sorts after the one numbered before it');
select is_empty(
  $$ select id from s1 where id::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' $$,
  'each is a version 7 UUID of the RFC variant');
select ok((select u from one) > (select id from s1 order by id desc limit 1)
          and (select id from s2 order by id limit 1) > (select u from one),
  'ids made after a series sort after it, and a series after them');
select is((select count(distinct id)::int from (select id from s1 union all select id from s2) a),
  6000, 'all distinct');
select is_empty($$ select * from durable.uuidv7s(0) $$, 'no rows for 0');
select is_empty($$ select * from durable.uuidv7s(null) $$, 'no rows for null');

select * from finish();
rollback;
