-- p_dedup_key: while a workflow of the queue with that key waits for its first claim (pending,
-- scheduled for later too), another enqueue of the key in that queue raises DU019 naming it and
-- writes nothing; other queues and other keys are not affected; the same id again is the
-- idempotent enqueue (created = false), not a duplicate.
begin;
select plan(8);
select durable_test.pin();
select durable.set_queue('other');

select results_eq($$ select * from durable.enqueue('wf', '1', p_workflow_id => 'd1', p_dedup_key => 'nightly') $$,
  $$ values ('d1'::text, true) $$, 'the first run of a key is created');
select throws_ok($$ select durable.enqueue('wf', '2', p_workflow_id => 'd2', p_dedup_key => 'nightly') $$,
  'DU019', 'workflow d1 with deduplication key nightly is enqueued in queue default and not started yet',
  'a second run of the key raises DU019 naming the pending one');
select throws_ok($$ select durable.enqueue('other-name', p_dedup_key => 'nightly') $$,
  'DU019', null, 'another workflow name with that key in that queue too');
select results_eq($$ select * from durable.enqueue('wf', '1', p_workflow_id => 'd1', p_dedup_key => 'nightly') $$,
  $$ values ('d1'::text, false) $$, 'the same id again returns the existing run (created = false)');
select lives_ok($$ select durable.enqueue('wf', p_queue => 'other', p_dedup_key => 'nightly') $$,
  'the key in another queue is accepted');
select lives_ok($$ select durable.enqueue('wf', p_dedup_key => 'weekly') $$, 'another key is accepted');

select durable.enqueue('wf', p_workflow_id => 'later', p_delay => interval '1 day', p_dedup_key => 'tomorrow');
select throws_ok($$ select durable.enqueue('wf', p_dedup_key => 'tomorrow') $$, 'DU019', null,
  'a run scheduled for later holds its key');
select is((select count(*)::int from durable.workflows where id = 'd2' or name = 'other-name'), 0,
  'the refused enqueues wrote nothing');

select * from finish();
rollback;
