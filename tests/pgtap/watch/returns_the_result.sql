-- durable.watch returns what durable.result returns; for a workflow not finished yet it also
-- marks it watched (its finish will NOTIFY durable_finished); a finished one is returned as it
-- is, and is not marked. DU003 for an unknown workflow.
begin;
\ir ../waiting_fixtures.sql
select plan(6);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'wa-pending');
select durable_test.make('wa-done', 'succeeded');
select results_eq($$ select * from durable.watch('wa-pending') $$, $$ select * from durable.result('wa-pending') $$,
  'for an unfinished workflow, the columns of durable.result');
select is((select watched from durable.workflows where id = 'wa-pending'), true, 'which is now watched');
select results_eq($$ select * from durable.watch('wa-done') $$, $$ select * from durable.result('wa-done') $$,
  'for a finished workflow, its result');
select results_eq($$ select status, output from durable.watch('wa-done') $$, $$ values ('succeeded'::text, '"made"'::jsonb) $$,
  'with its status and output');
select is((select watched from durable.workflows where id = 'wa-done'), false, 'a finished workflow is not marked');
select throws_ok($$ select * from durable.watch('nobody') $$, 'DU003', null, 'an unknown workflow raises DU003');

select * from finish();
rollback;
