-- A claim on a queue with a per-key limit reads about as many rows as it takes, not every
-- runnable row of the queue: pick_by_key walks in batches with a limit (a walk without one
-- was planned as a sort of all 3,000 runnable rows, 15x the cost of a plain claim). Counted
-- with the transaction's own statistics (tuples fetched from durable.workflows), not timed.
begin;
select plan(3);
select durable_test.pin();
select durable.set_queue('keyed', p_key_concurrency => 1000);
select count(*) from durable.enqueue_batch(
  (select jsonb_agg(jsonb_build_object('name', 'wf', 'queue', 'keyed',
                                       'concurrency_key', 'k' || (i % 100)))
     from generate_series(1, 3000) i));
analyze durable.workflows;
select durable.claim('w1', array['keyed'], 8);

create temp table fetched as
  select pg_stat_get_xact_tuples_fetched('durable.workflows'::regclass) as n;
select is((select count(*)::int from durable.claim('w1', array['keyed'], 1)), 1, 'a claim of 1 takes one');
select cmp_ok(pg_stat_get_xact_tuples_fetched('durable.workflows'::regclass) - (select n from fetched),
  '<', 300::bigint, 'and fetches fewer than 300 of the 3,000 runnable rows');

truncate fetched;
insert into fetched select pg_stat_get_xact_tuples_fetched('durable.workflows'::regclass);
select is((select count(*)::int from durable.claim('w1', array['keyed'], 10)), 10, 'a claim of 10 takes ten');

select * from finish();
rollback;
