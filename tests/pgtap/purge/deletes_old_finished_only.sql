-- purge deletes workflows that finished more than p_older_than ago, with their steps and errors;
-- unfinished and recent ones stay.
begin;
select plan(6);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'old-done', p_max_attempts => 1);
select durable.claim('worker-a');
select durable.checkpoint('old-done', (select lease from durable.workflows where id = 'old-done'), 0, 's', '1');
select durable.step_failed('old-done', (select lease from durable.workflows where id = 'old-done'), 1, 't', '{"m": 1}', 2);
select durable.complete('old-done', (select lease from durable.workflows where id = 'old-done'));
select durable.enqueue('wf', p_workflow_id => 'old-failed', p_max_attempts => 1);
select durable.claim('worker-a');
select durable.fail('old-failed', (select lease from durable.workflows where id = 'old-failed'), '{}');
select durable.enqueue('wf', p_workflow_id => 'old-cancelled');
select durable.cancel('old-cancelled');
select durable.enqueue('wf', p_workflow_id => 'old-pending');
select durable_test.advance(interval '8 days');
select durable.enqueue('wf', p_workflow_id => 'new-cancelled');
select durable.cancel('new-cancelled');
select durable_test.advance(interval '1 day');
select results_eq($$ select (select count(*)::int from durable.steps), (select count(*)::int from durable.errors) $$,
  $$ values (1, 2) $$, 'before: one step and two errors of the old workflows');

select is(durable.purge(interval '7 days'), 3::bigint, 'three workflows finished over 7 days ago are purged');
select set_eq($$ select id from durable.workflows $$, $$ values ('old-pending'), ('new-cancelled') $$,
  'the unfinished and the recent ones stay');
select results_eq($$ select (select count(*)::int from durable.steps), (select count(*)::int from durable.errors) $$,
  $$ values (0, 0) $$, 'their steps and errors are gone');
select is(durable.purge(interval '0'), 1::bigint, 'purge(0) deletes every finished workflow');
select is(durable.purge(interval '0'), 0::bigint, 'then nothing');

select * from finish();
rollback;
