-- While the step has had fewer tries than p_max_attempts in this attempt, step_failed answers
-- retry = true with retry_in = backoff(tries): between d/2 and d for d = base * 2^(tries-1),
-- capped at p_backoff_max. Every try is kept in durable.errors; nothing is recorded as the
-- step's outcome yet.
begin;
select plan(7);
select durable_test.pin();
select setseed(0.17);

select * from durable_test.start(p_workflow_id => 'sf');
create temp table l as select lease from durable.workflows where id = 'sf';
create temp table tries as
select t.n, r.*
  from generate_series(1, 4) t(n),
       durable.step_failed('sf', (select lease from l), 0, 'flaky', jsonb_build_object('try', t.n),
                           p_max_attempts => 5, p_backoff_base => interval '10 seconds',
                           p_backoff_max => interval '50 seconds') r;

select results_eq($$ select n, retry, tries, output, error from tries order by n $$,
  $$ values (1, true, 1, null::jsonb, null::jsonb), (2, true, 2, null, null),
            (3, true, 3, null, null), (4, true, 4, null, null) $$,
  'tries 1..4 of 5: retry = true, tries counted, no outcome');
select ok((select retry_in between interval '5 seconds' and interval '10 seconds' from tries where n = 1),
  'try 1: retry_in within [5 s, 10 s]');
select ok((select retry_in between interval '10 seconds' and interval '20 seconds' from tries where n = 2),
  'try 2: retry_in within [10 s, 20 s]');
select ok((select retry_in between interval '20 seconds' and interval '40 seconds' from tries where n = 3),
  'try 3: retry_in within [20 s, 40 s]');
select ok((select retry_in between interval '25 seconds' and interval '50 seconds' from tries where n = 4),
  'try 4: capped, retry_in within [25 s, 50 s]');

select results_eq($$ select step_id, name, attempt, error from durable.errors order by id $$,
  $$ select 0, 'flaky'::text, 1, jsonb_build_object('try', n) from generate_series(1, 4) n $$,
  'each try is kept in durable.errors');
select is((select count(*)::int from durable.steps), 0, 'nothing is recorded as the outcome yet');

select * from finish();
rollback;
