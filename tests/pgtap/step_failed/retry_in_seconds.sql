-- step_failed's retry_in_seconds is retry_in as a number of seconds (double precision), for
-- drivers that read an interval as an object (node-postgres, pgx, JDBC): set exactly when
-- retry_in is, null when the step is not tried again (the last try, a step recorded before).
begin;
select plan(5);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'sfs');
create temp table l as select lease from durable.workflows where id = 'sfs';
create temp table answers as
select t.n, r.*
  from generate_series(1, 3) t(n),
       durable.step_failed('sfs', (select lease from l), 0, 'flaky', jsonb_build_object('try', t.n),
                           p_max_attempts => 3, p_backoff_base => interval '1.5 seconds',
                           p_backoff_max => interval '1 minute') r;

select is((select pg_typeof(retry_in_seconds)::text from answers limit 1), 'double precision',
  'retry_in_seconds is double precision');
select results_eq($$ select n, retry, retry_in_seconds = extract(epoch from retry_in)::float8
                      from answers where retry order by n $$,
  $$ values (1, true, true), (2, true, true) $$,
  'while the step is retried, retry_in_seconds is retry_in in seconds');
select ok((select retry_in_seconds between 0.75 and 1.5 from answers where n = 1),
  'try 1 of base 1.5 s: between 0.75 and 1.5 seconds, fractions kept');
select results_eq($$ select retry, retry_in, retry_in_seconds from answers where n = 3 $$,
  $$ values (false, null::interval, null::float8) $$,
  'the last try: no retry, both null');
select results_eq(
  $$ select retry, retry_in_seconds from durable.step_failed('sfs', (select lease from l), 0, 'flaky', '{"late": 1}', 5) $$,
  $$ values (false, null::float8) $$,
  'a step recorded before: no retry, retry_in_seconds null');

select * from finish();
rollback;
