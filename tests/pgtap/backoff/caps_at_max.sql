-- The delay never exceeds backoff_max; attempts below 1 count as attempt 1; with base = max
-- the delay is always between max/2 and max.
begin;
select plan(4);
select setseed(-0.3);

select is_empty(
  $$ select a from generate_series(1, 60) a, generate_series(1, 20) k
      where durable.backoff(a, interval '1 second', interval '1 minute') > interval '1 minute' $$,
  'attempts 1..60 never exceed the cap of 1 minute');
select is_empty(
  $$ select a from generate_series(8, 60) a, generate_series(1, 20) k
      where durable.backoff(a, interval '1 second', interval '1 minute') < interval '30 seconds' $$,
  'once capped, never below max/2');
select is_empty(
  $$ select a from generate_series(-5, 1) a, generate_series(1, 20) k
      where durable.backoff(a, interval '2 seconds', interval '1 hour') not between interval '1 second' and interval '2 seconds' $$,
  'attempts 0 and below behave as attempt 1');
select is_empty(
  $$ select 1 from generate_series(1, 50) k
      where durable.backoff(k, interval '5 minutes', interval '5 minutes') not between interval '150 seconds' and interval '5 minutes' $$,
  'base = max: always within [max/2, max]');

select * from finish();
rollback;
