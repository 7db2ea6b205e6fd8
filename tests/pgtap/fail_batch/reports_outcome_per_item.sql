-- fail_batch reports, in order, one outcome per item: pending (retry scheduled, with its run_at),
-- failed (no run_at: nothing will run), lease_lost, cancelled or unknown; it never raises for
-- one stale item.
begin;
select plan(3);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'fb-retry', p_backoff_base => interval '1 minute', p_backoff_max => interval '1 minute');
select durable.enqueue('wf', p_workflow_id => 'fb-final', p_max_attempts => 1);
select durable.enqueue('wf', p_workflow_id => 'fb-nonretryable');
select durable.enqueue('wf', p_workflow_id => 'fb-lost');
select durable.enqueue('wf', p_workflow_id => 'fb-cancelled');
select durable.claim('worker-a', p_max => 10);
create temp table l as select id, lease from durable.workflows;
select durable.cancel('fb-cancelled');

create temp table out as
select * from durable.fail_batch(
       array['fb-lost', 'fb-retry', 'fb-unknown', 'fb-final', 'fb-cancelled', 'fb-nonretryable'],
       array[(select lease from l where id = 'fb-lost') + 1000, (select lease from l where id = 'fb-retry'), 1,
             (select lease from l where id = 'fb-final'), (select lease from l where id = 'fb-cancelled'),
             (select lease from l where id = 'fb-nonretryable')],
       array['{"e": 1}', '{"e": 2}', '{"e": 3}', '{"e": 4}', '{"e": 5}', '{"e": 6}']::jsonb[],
       array[true, true, true, true, true, false]);
select results_eq(
  $$ select workflow_id, status, run_at is not null from out $$,
  $$ values ('fb-lost'::text, 'lease_lost'::text, false), ('fb-retry', 'pending', true),
            ('fb-unknown', 'unknown', false), ('fb-final', 'failed', false),
            ('fb-cancelled', 'cancelled', false), ('fb-nonretryable', 'failed', false) $$,
  'one outcome per item, in order; a run_at for the retries only');
select ok((select run_at between durable_test.t0() + interval '30 seconds' and durable_test.t0() + interval '1 minute'
             from out where workflow_id = 'fb-retry'),
  'the retry''s run_at is within the backoff bounds');
select results_eq(
  $$ select id, status, attempt, error from durable.workflows order by id $$,
  $$ values ('fb-cancelled'::text, 'cancelled'::text, 1, null::jsonb),
            ('fb-final', 'failed', 1, '{"e": 4}'),
            ('fb-lost', 'running', 1, null),
            ('fb-nonretryable', 'failed', 1, '{"e": 6}'),
            ('fb-retry', 'pending', 2, '{"e": 2}') $$,
  'only the items with their current lease were written');

select * from finish();
rollback;
