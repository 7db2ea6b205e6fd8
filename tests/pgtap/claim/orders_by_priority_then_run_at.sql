-- claim takes the highest priority first and, within a priority, the oldest run_at.
begin;
select plan(2);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'p0-old', p_run_at => durable_test.t0() - interval '3 minutes');
select durable.enqueue('wf', p_workflow_id => 'p0-new', p_run_at => durable_test.t0() - interval '1 minute');
select durable.enqueue('wf', p_workflow_id => 'p5-new', p_run_at => durable_test.t0() - interval '1 minute', p_priority => 5);
select durable.enqueue('wf', p_workflow_id => 'p5-old', p_run_at => durable_test.t0() - interval '2 minutes', p_priority => 5);
select durable.enqueue('wf', p_workflow_id => 'pneg', p_run_at => durable_test.t0() - interval '1 hour', p_priority => -1);

select results_eq(
  $$ select (durable.claim('w', p_max => 1)).workflow_id from generate_series(1, 5) $$,
  $$ values ('p5-old'::text), ('p5-new'), ('p0-old'), ('p0-new'), ('pneg') $$,
  'one at a time: priority 5 oldest first, then priority 0, then -1');

select is((select count(*)::int from durable.claim('w', p_max => 10)), 0, 'nothing left');

select * from finish();
rollback;
