-- complete_and_claim finishes the workflow as complete does and, in the same transaction,
-- claims the next ones for the worker as claim does: new leases, recorded steps, priority order.
begin;
select plan(10);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'first');
create temp table a as select lease from durable.workflows where id = 'first';
select durable.enqueue('wf', p_workflow_id => 'low', p_priority => 0);
select durable.enqueue('wf', p_workflow_id => 'high', p_priority => 5);
-- 'high' ran before on worker-z and recorded a step, to replay
select durable.checkpoint(c.workflow_id, c.lease, 0, 's0', '1')
  from durable.claim('worker-z', array['default'], 1) c;  -- takes 'high'
select durable.release('worker-z', array['high']);

create temp table got as
select * from durable.complete_and_claim('first', (select lease from a), '"done"', 'worker-a',
                                         array['default'], 1);
select is((select count(*)::int from got), 1, 'one row: max 1');
select is((select completed from got), 'succeeded', 'the finished workflow is reported succeeded');
select is((select workflow_id from got), 'high', 'the next one is claimed by priority');
select results_eq($$ select status, output, owner, lease from durable.workflows where id = 'first' $$,
  $$ values ('succeeded'::text, '"done"'::jsonb, null::text, null::bigint) $$,
  'the workflow is finished with its output, owner and lease cleared');
select results_eq($$ select status, owner, lease from durable.workflows where id = 'high' $$,
  $$ select 'running'::text, 'worker-a'::text, lease from got $$,
  'the claimed workflow runs for the worker under the lease returned');
select isnt((select lease from got), (select lease from a), 'the new lease is a new token');
select is((select claims from durable.workflows where id = 'high'), 2, 'the claim is counted');
select is((select steps from got), '[{"step_id": 0, "name": "s0", "output": 1, "error": null}]'::jsonb,
  'the recorded steps come with the claim, to replay');

create temp table got2 as
select * from durable.complete_and_claim('high', (select lease from got), '"h"', 'worker-a',
                                         array['default'], 5);
select is((select array_agg(workflow_id) from got2), array['low'], 'max 5 claims what there is');
select is((select status from durable.workflows where id = 'high'), 'succeeded', 'high is done');

select * from finish();
rollback;
