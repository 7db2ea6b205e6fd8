-- A deduplication key is free again once its workflow has been claimed (started), and when it
-- is cancelled before starting; a started run that is pending again (released, retried) holds
-- no key.
begin;
select plan(7);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'd1', p_dedup_key => 'k');
select results_eq($$ select workflow_id from durable.claim('w1', array['default'], 1, interval '1 hour') $$,
  $$ values ('d1'::text) $$, 'the first run is claimed');
select results_eq($$ select created from durable.enqueue('wf', p_workflow_id => 'd2', p_dedup_key => 'k') $$,
  $$ values (true) $$, 'once it started, the key is free: a second run is created');
select throws_ok($$ select durable.enqueue('wf', p_workflow_id => 'd3', p_dedup_key => 'k') $$, 'DU019',
  'workflow d2 with deduplication key k is enqueued in queue default and not started yet',
  'and now holds the key');

-- d1 goes back to pending (its worker releases it): not started for the first time, no key
select durable.release('w1', array['d1']);
select is((select status from durable.workflows where id = 'd1'), 'pending', 'd1 is pending again');
select throws_ok($$ select durable.enqueue('wf', p_dedup_key => 'k') $$, 'DU019',
  'workflow d2 with deduplication key k is enqueued in queue default and not started yet',
  'the refusal still names d2, the one not started');

select durable.cancel('d2');
select results_eq($$ select created from durable.enqueue('wf', p_workflow_id => 'd4', p_dedup_key => 'k') $$,
  $$ values (true) $$, 'a run cancelled before it started frees the key');
select is((select count(*)::int from durable.workflows where dedup_key = 'k'), 3, 'd1, d2 and d4 have the key');

select * from finish();
rollback;
