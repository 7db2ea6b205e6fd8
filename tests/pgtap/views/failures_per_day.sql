-- durable.failures_per_day(p_days): failed runs (by finished_at) and failed step tries (errors
-- with a step, by created_at) per UTC day over the last p_days days, today's included, days
-- without failures as zeros; older failures, successes and failed attempts are not counted;
-- the observer may call it; p_days out of 1..366 is refused with DU011.
begin;
select plan(9);

select durable_test.pin(durable_test.t0() - interval '40 days');
select durable_test.make('old', 'failed');
select durable_test.pin(durable_test.t0() - interval '2 days' + interval '3 hours');
select durable_test.make('f1', 'failed');
select durable_test.make('f2', 'failed');
insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
values ('f1', 1, 'charge', 1, '{"type": "E"}', durable.now());
select durable_test.pin(durable_test.t0() + interval '10 hours');
select durable_test.make('f3', 'failed');
select durable_test.make('s1', 'succeeded');
insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
values ('f3', 0, 'charge', 1, '{"type": "E"}', durable.now()),
       ('f3', null, null, 1, '{"type": "E"}', durable.now());
select durable_test.pin(durable_test.t0() + interval '12 hours');

select results_eq(
  $$ select day, failed_runs, failed_step_tries from durable.failures_per_day(3) $$,
  $$ values (durable_test.t0() - interval '2 days', 2::bigint, 1::bigint),
            (durable_test.t0() - interval '1 day', 0, 0),
            (durable_test.t0(), 1, 1) $$,
  'per UTC day, oldest first, empty days as zeros; successes and failed attempts not counted');
select is((select count(*) from durable.failures_per_day()), 30::bigint,
          'the default is the last 30 days, today''s included');
select is((select sum(failed_runs) from durable.failures_per_day()), 3::numeric,
          'a failure older than the window is not counted');
select is((select sum(failed_runs) from durable.failures_per_day(366)), 4::numeric,
          'it is within a year');

select has_index('durable', 'errors', 'errors_step_created', array['created_at'],
                 'failed step tries are counted from index errors_step_created');

select throws_ok('select * from durable.failures_per_day(0)', 'DU011', null, 'days 0 refused');
select throws_ok('select * from durable.failures_per_day(367)', 'DU011', null,
                 'more than 366 days refused');
select throws_ok('select * from durable.failures_per_day(null)', 'DU011', null,
                 'null days refused');

set local role durable_observer;
select is((select sum(failed_step_tries) from durable.failures_per_day(3)), 2::numeric,
          'the observer may call it');
reset role;

select * from finish();
rollback;
