-- In a queue with a concurrency limit, the slot freed by the completed workflow is the one the
-- claim may take: complete_and_claim at the limit still claims one, and never more than the
-- limit runs at once.
begin;
select plan(4);
select durable_test.pin();
select durable.set_queue('limited', p_concurrency => 2);
select durable.enqueue('wf', p_queue => 'limited') from generate_series(1, 5);
create temp table running as select workflow_id, lease from durable.claim('w', array['limited'], 10);
select is((select count(*)::int from running), 2, 'the limit, 2, are running');

create temp table got as
select c.* from running r
 cross join lateral durable.complete_and_claim(r.workflow_id, r.lease, '"ok"', 'w', array['limited'], 5) c
 where r.workflow_id = (select min(workflow_id) from running);
select is((select count(*)::int from got), 1, 'completing one frees one slot, and it is claimed');
select is((select count(*)::int from durable.workflows where queue = 'limited' and status = 'running'), 2,
  'still 2 running');
select is((select count(*)::int from durable.workflows where queue = 'limited' and status = 'succeeded'), 1,
  'one succeeded');

select * from finish();
rollback;
