-- durable.purge_where deletes the finished workflows matching every filter (queue, name, status,
-- created_at and finished_at ranges), at most p_limit per call, with their steps; unfinished
-- ones never; p_dry_run counts.
begin;
select plan(9);
select durable_test.pin();
select durable.set_queue('pw_q');
select durable_test.make('pw-s1', 'succeeded', 'a', 'pw_q');
select durable_test.make('pw-f1', 'failed', 'a', 'pw_q');
select durable_test.make('pw-c1', 'cancelled', 'b', 'pw_q');
select durable_test.make('pw-p1', 'pending', 'a', 'pw_q');
select durable_test.make('pw-d1', 'succeeded', 'a');
insert into durable.steps (workflow_id, step_id, name, output, attempt, lease, created_at)
values ('pw-s1', 0, 's', '1', 1, 1, durable.now());
select durable_test.advance(interval '1 day');
select durable_test.make('pw-s2', 'succeeded', 'a', 'pw_q');

select results_eq($$ select * from durable.purge_where(p_queue => 'pw_q', p_dry_run => true) $$,
  $$ values (4::bigint, false) $$, 'dry run: four finished in the queue');
select results_eq($$ select * from durable.purge_where(p_queue => 'pw_q', p_status => '{failed,cancelled}') $$,
  $$ values (2::bigint, false) $$, 'status failed and cancelled: two');
select results_eq($$ select * from durable.purge_where(p_name => 'a',
                      p_finished_before => durable_test.t0() + interval '1 hour') $$,
  $$ values (2::bigint, false) $$, 'name a, finished before: the old succeeded ones of both queues');
select is((select count(*)::int from durable.steps where workflow_id = 'pw-s1'), 0, 'with their steps');
select set_eq($$ select id from durable.workflows where id like 'pw-%' $$,
  $$ values ('pw-p1'), ('pw-s2') $$, 'the pending one and the recent one stay');
select results_eq($$ select * from durable.purge_where(p_created_after => durable_test.t0() + interval '1 hour',
                      p_created_before => durable_test.t0() + interval '2 days', p_limit => 1) $$,
  $$ values (1::bigint, true) $$, 'created in a range, limit 1: a full batch');
select results_eq($$ select * from durable.purge_where(p_status => '{succeeded,failed,cancelled}') $$,
  $$ values (0::bigint, false) $$, 'every status, explicitly: nothing finished is left');
select set_eq($$ select id from durable.workflows where id like 'pw-%' $$, $$ values ('pw-p1') $$,
  'only the pending one');
select results_eq($$ select * from durable.purge_where(p_finished_after => durable_test.t0(), p_dry_run => true) $$,
  $$ values (0::bigint, false) $$, 'a dry run with a finished_at range');

select * from finish();
rollback;
