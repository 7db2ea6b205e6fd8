-- A workflow is claimable from its run_at on, not before.
begin;
select plan(4);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'later', p_delay => interval '10 seconds');
select is((select count(*)::int from durable.claim('w')), 0, 'a delayed workflow is not claimed');
select durable_test.advance(interval '9 seconds');
select is((select count(*)::int from durable.claim('w')), 0, 'nor one second before run_at');
select durable_test.advance(interval '1 second');
select is((select workflow_id from durable.claim('w')), 'later', 'at run_at it is claimed');
select is((select status from durable.workflows where id = 'later'), 'running', 'and running');

select * from finish();
rollback;
