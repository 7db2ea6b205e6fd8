-- Retrying a workflow that never started (cancelled while pending) puts it back to pending with
-- its deduplication key: while another run of its queue holds that key pending, durable.retry
-- raises DU019 naming that run (it raised the unique index's 23505 before) and changes nothing,
-- and durable.retry_where leaves it for later (counted as not retried). Once the other run has
-- started, the retry goes through.
begin;
select plan(8);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'first', p_dedup_key => 'k');
select durable.cancel('first');
select durable.enqueue('wf', p_workflow_id => 'second', p_dedup_key => 'k');

select throws_ok($$ select durable.retry('first') $$,
  'DU019', 'workflow second with deduplication key k is enqueued in queue default and not started yet',
  'retry of a never-started run whose key is pending again raises DU019 naming the holder');
select is((select status from durable.workflows where id = 'first'), 'cancelled',
  'and the run stays cancelled');

select results_eq($$ select retried, more from durable.retry_where(p_status => '{cancelled}') $$,
  $$ values (0::bigint, false) $$,
  'retry_where skips it while the key is held');
select is((select status from durable.workflows where id = 'first'), 'cancelled',
  'and leaves it cancelled');

select lives_ok($$ select durable.claim('w1', array['default'], 1) $$, 'second starts');
select is(durable.retry('first'), 'pending', 'then the retry goes through');
select is((select dedup_key from durable.workflows where id = 'first'), 'k', 'with its key');

-- two never-started cancelled runs with one key: a bulk retry takes one of them
select durable.enqueue('wf', p_workflow_id => 'a1', p_dedup_key => 'two');
select durable.cancel('a1');
select durable.enqueue('wf', p_workflow_id => 'a2', p_dedup_key => 'two');
select durable.cancel('a2');
select is((select retried from durable.retry_where(p_status => '{cancelled}', p_name => 'wf')),
  1::bigint, 'of two runs with one key, retry_where retries one');

select * from finish();
rollback;
