-- p_started_at is kept, so durable.run_steps shows how long the step took.
begin;
select plan(2);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'dur');
select durable_test.advance(interval '2.5 seconds');
select durable.checkpoint('dur', (select lease from durable.workflows where id = 'dur'), 0, 'slow', '1',
                          p_started_at => durable_test.t0());
select durable.checkpoint('dur', (select lease from durable.workflows where id = 'dur'), 1, 'untimed', '2');

select results_eq(
  $$ select step_id, started_at, recorded_at, duration from durable.run_steps order by step_id $$,
  $$ values (0, durable_test.t0(), durable_test.t0() + interval '2.5 seconds', interval '2.5 seconds'),
            (1, null, durable_test.t0() + interval '2.5 seconds', null) $$,
  'duration = recorded_at - started_at; unknown without started_at');
select is((select started_at from durable.steps where step_id = 0), durable_test.t0(),
  'started_at is stored in durable.steps');

select * from finish();
rollback;
