-- Every claim hands out a new fencing token, also when the same workflow is claimed again.
begin;
select plan(4);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'l-1');
select durable.enqueue('wf', p_workflow_id => 'l-2');
create temp table first as select workflow_id, lease from durable.claim('w', p_max => 2);

select is((select count(distinct lease)::int from first), 2, 'two workflows, two leases');
select is((select lease from durable.workflows where id = 'l-1'),
          (select lease from first where workflow_id = 'l-1'), 'the lease returned is stored');

select durable.release('w', array['l-1']);
create temp table second as select workflow_id, lease from durable.claim('w');
select is((select workflow_id from second), 'l-1', 'the released workflow is claimed again');
select cmp_ok((select lease from second), '>', (select lease from first where workflow_id = 'l-1'),
  'with a new, larger lease');

select * from finish();
rollback;
