-- durable.list_runs: each filter keeps exactly the runs that match it (status, queue, name,
-- created and finished time ranges, input containment, parent), newest first.
begin;
select plan(12);
select durable_test.pin();
select durable.set_queue('lq-a');
select durable.set_queue('lq-b');

-- five runs a minute apart: l1 .. l5 (l5 newest)
select durable.enqueue('order', '[{"customer": "c-1", "total": 10}]', 'lq-a', 'l1');
select durable_test.advance(interval '1 minute');
select durable.enqueue('order', '[{"customer": "c-2", "total": 20}]', 'lq-a', 'l2');
select durable_test.advance(interval '1 minute');
select durable.enqueue('refund', '[{"customer": "c-1", "total": 5}]', 'lq-b', 'l3');
select durable_test.advance(interval '1 minute');
select durable.enqueue('order', '{"$args": [], "$kwargs": {"customer": "c-1"}}', 'lq-b', 'l4',
                       p_run_at => durable.now());
select durable_test.advance(interval '1 minute');
select durable.enqueue('order', 'null', 'lq-a', 'l5');
-- l1 and l3 finished, a minute apart; l4 is a child of l3 (made so by hand)
select durable_test.set_status('l1', 'running');
select durable_test.set_status('l1', 'succeeded');
select durable_test.advance(interval '1 minute');
select durable_test.set_status('l3', 'running');
select durable_test.set_status('l3', 'failed');
update durable.workflows set parent_id = 'l3' where id = 'l4';

select results_eq($$ select id from durable.list_runs() where id like 'l_' $$,
  $$ values ('l5'), ('l4'), ('l3'), ('l2'), ('l1') $$, 'no filter: every run, newest first');
select results_eq($$ select id from durable.list_runs(p_status => '{pending}') where id like 'l_' $$,
  $$ values ('l5'), ('l4'), ('l2') $$, 'status: the pending runs');
select results_eq($$ select id from durable.list_runs(p_status => '{succeeded,failed}') $$,
  $$ values ('l3'), ('l1') $$, 'status: any of several');
select results_eq($$ select id from durable.list_runs(p_queue => 'lq-b') $$,
  $$ values ('l4'), ('l3') $$, 'queue');
select results_eq($$ select id from durable.list_runs(p_name => 'order', p_queue => 'lq-a') $$,
  $$ values ('l5'), ('l2'), ('l1') $$, 'name and queue together');
select results_eq(
  $$ select id from durable.list_runs(p_created_after => durable_test.t0() + interval '1 minute',
                                      p_created_before => durable_test.t0() + interval '3 minutes') $$,
  $$ values ('l3'), ('l2') $$, 'created_at in [after, before)');
select results_eq(
  $$ select id from durable.list_runs(p_finished_after => durable_test.t0() + interval '4 minutes') $$,
  $$ values ('l3'), ('l1') $$, 'finished_after: only finished runs');
select results_eq(
  $$ select id from durable.list_runs(p_finished_before => durable_test.t0() + interval '5 minutes') $$,
  $$ values ('l1') $$, 'finished_before is exclusive');
select results_eq($$ select id from durable.list_runs(p_input => '[{"customer": "c-1"}]') $$,
  $$ values ('l3'), ('l1') $$, 'input containment: the first argument has customer c-1');
select results_eq(
  $$ select id from durable.list_runs(p_input => '{"$kwargs": {"customer": "c-1"}}') $$,
  $$ values ('l4') $$, 'input containment on keyword arguments');
select results_eq($$ select id from durable.list_runs(p_parent_id => 'l3') $$,
  $$ values ('l4') $$, 'parent: the children of a run');
select is_empty(
  $$ select id from durable.list_runs(p_status => '{pending}', p_queue => 'lq-b', p_name => 'refund') $$,
  'filters combine with and');

select * from finish();
rollback;
