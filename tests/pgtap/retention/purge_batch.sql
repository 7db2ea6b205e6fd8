-- durable.purge_batch deletes at most p_limit workflows that finished more than p_older_than
-- ago (any finished status), returns (purged, more), and refuses bad arguments with DU011.
begin;
select plan(10);
select durable_test.pin();
select durable_test.make('pb-s' || i, 'succeeded') from generate_series(1, 3) i;
select durable_test.make('pb-f1', 'failed');
select durable_test.make('pb-c1', 'cancelled');
select durable_test.make('pb-r1', 'running');
select durable_test.advance(interval '8 days');
select durable_test.make('pb-new', 'succeeded');
select durable_test.advance(interval '1 hour');

select results_eq($$ select * from durable.purge_batch(interval '7 days', 2) $$,
  $$ values (2::bigint, true) $$, 'a full batch of 2: more');
select results_eq($$ select * from durable.purge_batch(interval '7 days', 2) $$,
  $$ values (2::bigint, true) $$, 'another');
select results_eq($$ select * from durable.purge_batch(interval '7 days', 2) $$,
  $$ values (1::bigint, false) $$, 'the last one: more = false');
select set_eq($$ select id from durable.workflows where id like 'pb-%' $$,
  $$ values ('pb-r1'), ('pb-new') $$, 'the running and the recent ones stay');
select results_eq($$ select * from durable.purge_batch(interval '0') $$,
  $$ values (1::bigint, false) $$, 'older_than 0, default limit: every finished one');

select throws_ok($$ select * from durable.purge_batch(null) $$, 'DU011', null, 'null older_than: DU011');
select throws_ok($$ select * from durable.purge_batch(interval '-1 second') $$, 'DU011', null,
  'negative older_than: DU011');
select throws_ok($$ select * from durable.purge_batch(interval '1 day', 0) $$, 'DU011', null, 'limit 0: DU011');
select throws_ok($$ select * from durable.purge_batch(interval '1 day', 10001) $$, 'DU011', null,
  'limit over 10000: DU011');
select throws_ok($$ select * from durable.purge_batch(interval '1 day', null) $$, 'DU011', null,
  'null limit: DU011');

select * from finish();
rollback;
