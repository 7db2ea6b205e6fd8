-- durable.run_steps: the recorded steps of each run, with recorded_at and duration.
begin;
select plan(1);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'vs');
select durable_test.advance(interval '1 second');
select durable.checkpoint('vs', (select lease from durable.workflows where id = 'vs'), 0, 'a', '"x"',
                          p_started_at => durable_test.t0());
select durable.checkpoint('vs', (select lease from durable.workflows where id = 'vs'), 1, 'b', null, '{"m": 1}');

select results_eq(
  $$ select workflow_id, step_id, name, output, error, attempt, started_at, recorded_at, duration
       from durable.run_steps order by step_id $$,
  $$ values ('vs'::text, 0, 'a'::text, '"x"'::jsonb, null::jsonb, 1, durable_test.t0(),
             durable_test.t0() + interval '1 second', interval '1 second'),
            ('vs', 1, 'b', null, '{"m": 1}', 1, null, durable_test.t0() + interval '1 second', null) $$,
  'each step with its outcome, attempt and timing');

select * from finish();
rollback;
