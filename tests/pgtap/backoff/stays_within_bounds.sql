-- durable.backoff(attempt, base, max) is d = least(max, base * 2^(attempt-1)), returned as a
-- random value between d/2 and d ("equal jitter"). Checked for attempts 1..10, many draws each.
begin;
select plan(4);
select setseed(0.25);

create temp table draws as
select a as attempt,
       least(interval '10 minutes', interval '1 second' * power(2, a - 1)) as d,
       durable.backoff(a, interval '1 second', interval '10 minutes') as delay
  from generate_series(1, 10) a, generate_series(1, 200) k;

select is_empty($$ select attempt, delay from draws where delay < d / 2 or delay > d $$,
  'every delay of attempts 1..10 is within [d/2, d]');
select results_eq(
  $$ select attempt, min(delay) >= d / 2 and min(delay) < d * 0.6, max(delay) <= d and max(delay) > d * 0.9
       from draws group by attempt, d order by attempt $$,
  $$ select a, true, true from generate_series(1, 10) a $$,
  'the delays spread over the whole [d/2, d] range for each attempt');
select results_eq(
  $$ select attempt, max(delay) <= interval '1 second' * power(2, attempt - 1)
       from draws where attempt <= 9 group by attempt order by attempt $$,
  $$ select a, true from generate_series(1, 9) a $$,
  'attempts 1..9 double from 1 s (512 s at attempt 10 is under the cap)');
select cmp_ok((select count(distinct delay)::int from draws where attempt = 10), '>', 190,
  'the jitter is random: 200 draws give (nearly) 200 different delays');

select * from finish();
rollback;
