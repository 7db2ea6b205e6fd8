-- Workflows of equal priority and run time are claimed first in, first out: the items of one
-- enqueue_batch (which share their run_at) in the batch's order, single enqueues in their
-- order. Regression: a batch came out in no set order (the random ids decided).
begin;
select plan(2);
select durable_test.pin();

select durable.enqueue_batch((select jsonb_agg(jsonb_build_object('name', 'wf',
         'workflow_id', md5(i::text)) order by i) from generate_series(1, 20) i));
select results_eq(
  $$ select workflow_id from durable.claim('w', p_max => 20) $$,
  $$ select md5(i::text) from generate_series(1, 20) i $$,
  'a batch is claimed in its own order, not in id order');

select durable.enqueue('wf', p_workflow_id => 'z-first');
select durable.enqueue('wf', p_workflow_id => 'a-second');
select results_eq($$ select workflow_id from durable.claim('w', p_max => 2) $$,
  $$ values ('z-first'::text), ('a-second') $$, 'single enqueues at the same time likewise');

select * from finish();
rollback;
