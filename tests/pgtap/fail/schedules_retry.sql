-- fail with attempts left schedules a retry: pending, attempt + 1, run_at = now + backoff(attempt)
-- (between d/2 and d), the error kept on the row and in durable.errors; steps that ended in error
-- are removed from durable.steps (they run again) but stay in durable.errors; successful steps
-- are kept and replayed.
begin;
select plan(8);
select durable_test.pin();
select setseed(0.5);

select durable.enqueue('wf', p_workflow_id => 'retry-me', p_max_attempts => 3,
                       p_backoff_base => interval '10 seconds', p_backoff_max => interval '1 minute');
select durable.claim('worker-a');
create temp table l as select lease from durable.workflows where id = 'retry-me';
select durable.checkpoint('retry-me', (select lease from l), 0, 'good', '"kept"');
select durable.checkpoint('retry-me', (select lease from l), 1, 'bad', null, '{"m": "step"}');

create temp table r as select * from durable.fail('retry-me', (select lease from l), '{"m": "workflow"}');
select is((select status from r), 'pending', 'fail returns status pending');
select ok((select run_at between durable_test.t0() + interval '5 seconds' and durable_test.t0() + interval '10 seconds' from r),
  'run_at of the retry is now + backoff(1): within [5 s, 10 s]');
select results_eq(
  $$ select status, attempt, run_at, error, owner, lease, finished_at, output from durable.workflows where id = 'retry-me' $$,
  $$ select 'pending'::text, 2, (select run_at from r), '{"m": "workflow"}'::jsonb, null::text, null::bigint,
            null::timestamptz, null::jsonb $$,
  'the row: pending, attempt 2, run_at of the retry, error kept, no owner, not finished');
select results_eq($$ select step_id, name, output from durable.steps order by step_id $$,
  $$ values (0, 'good'::text, '"kept"'::jsonb) $$,
  'the successful step is kept, the errored one removed');
select results_eq($$ select step_id, attempt, error from durable.errors order by id $$,
  $$ values (1, 1, '{"m": "step"}'::jsonb), (null, 1, '{"m": "workflow"}') $$,
  'durable.errors keeps the step''s error and the attempt''s error');

-- the retry runs from run_at with the kept steps
select is((select count(*)::int from durable.claim('worker-b')), 0, 'not claimable before its run_at');
select durable_test.pin((select run_at from r));
select results_eq($$ select workflow_id, attempt, steps from durable.claim('worker-b') $$,
  $$ values ('retry-me'::text, 2, '[{"step_id": 0, "name": "good", "output": "kept", "error": null}]'::jsonb) $$,
  'at run_at attempt 2 is claimed with only the successful step to replay');

-- second failure: backoff(2) within [10 s, 20 s]
create temp table r2 as select * from durable.fail('retry-me', (select lease from durable.workflows where id = 'retry-me'), '{"m": 2}');
select ok((select status = 'pending' and run_at between durable.now() + interval '10 seconds' and durable.now() + interval '20 seconds' from r2),
  'the second failure is retried after backoff(2): within [10 s, 20 s]');

select * from finish();
rollback;
