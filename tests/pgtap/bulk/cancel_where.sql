-- durable.cancel_where cancels the unfinished workflows matching every filter given (queue,
-- name, status, created_at range), at most p_limit per call, each as durable.cancel does (its
-- unfinished children too, counted); more = true after a full batch; p_dry_run counts and
-- changes nothing.
begin;
select plan(16);
select durable_test.pin();
select durable.set_queue('cw_q');
select durable.set_queue('cw_other');
select durable_test.make('cw-p1', 'pending', 'a', 'cw_q');
select durable_test.make('cw-r1', 'running', 'a', 'cw_q');
select durable_test.make('cw-p2', 'pending', 'b', 'cw_q');
select durable_test.make('cw-w1', 'waiting', 'b', 'cw_q');
select durable_test.make('cw-done', 'succeeded', 'a', 'cw_q');
select durable_test.make('cw-o1', 'pending', 'a', 'cw_other');
select durable_test.advance(interval '1 hour');
select durable_test.make('cw-o2', 'pending', 'a', 'cw_other');

select results_eq($$ select * from durable.cancel_where(p_queue => 'cw_q', p_dry_run => true) $$,
  $$ values (4::bigint, false) $$, 'dry run: four unfinished in the queue');
select is((select count(*)::int from durable.workflows where status = 'cancelled'), 0, 'the dry run cancelled nothing');

select results_eq($$ select * from durable.cancel_where(p_queue => 'cw_q', p_name => 'a', p_limit => 1) $$,
  $$ values (1::bigint, true) $$, 'queue and name, limit 1: one, and more');
select results_eq($$ select * from durable.cancel_where(p_queue => 'cw_q', p_name => 'a', p_limit => 1) $$,
  $$ values (1::bigint, true) $$, 'the other (a full batch again)');
select results_eq($$ select * from durable.cancel_where(p_queue => 'cw_q', p_name => 'a', p_limit => 1) $$,
  $$ values (0::bigint, false) $$, 'then none');
select results_eq($$ select status, error from durable.workflows where id in ('cw-p1', 'cw-r1') order by id $$,
  $$ values ('cancelled'::text, null::jsonb), ('cancelled', null) $$,
  'the pending and the running one of name a are cancelled, as durable.cancel does');

select results_eq($$ select * from durable.cancel_where(p_queue => 'cw_q', p_status => '{waiting}') $$,
  $$ values (1::bigint, false) $$, 'status waiting: only the waiting one');
select is((select status from durable.workflows where id = 'cw-p2'), 'pending', 'the pending one of name b stays');

select results_eq($$ select * from durable.cancel_where(p_queue => 'cw_other',
                      p_created_before => durable_test.t0() + interval '30 minutes') $$,
  $$ values (1::bigint, false) $$, 'created before: the older one');
select results_eq($$ select * from durable.cancel_where(p_name => 'a',
                      p_created_after => durable_test.t0() + interval '30 minutes') $$,
  $$ values (1::bigint, false) $$, 'created after, any queue: the newer one');
select set_eq($$ select id from durable.workflows where status <> 'cancelled' and id like 'cw-%' $$,
  $$ values ('cw-p2'), ('cw-done') $$, 'the unmatched and the finished ones are as they were');

-- a parent waiting on its child is woken when the child is cancelled; a cancelled parent's
-- children are cancelled with it and counted
select durable.set_queue('cw_fam');
select * from durable_test.start(p_name => 'par', p_workflow_id => 'cw-par', p_queue => 'cw_fam');
select durable.start_child('cw-par', (select lease from durable.workflows where id = 'cw-par'), 0, 'kid', p_queue => 'cw_fam');
select durable.start_child('cw-par', (select lease from durable.workflows where id = 'cw-par'), 1, 'kid', p_queue => 'cw_fam');
select durable.await_children('cw-par', (select lease from durable.workflows where id = 'cw-par'), 2,
                              array['cw-par-0']);
select is((select status from durable.workflows where id = 'cw-par'), 'waiting', 'the parent waits on its child');
select results_eq($$ select * from durable.cancel_where(p_queue => 'cw_fam', p_name => 'kid') $$,
  $$ values (2::bigint, false) $$, 'its two children cancelled');
select is((select status from durable.workflows where id = 'cw-par'), 'pending',
  'the parent is woken: the child it awaits was cancelled');
select durable_test.make('cw-par2', 'pending', 'par', 'cw_fam');
select durable_test.make('cw-kid2', 'pending', 'kid2', 'cw_fam');
update durable.workflows set parent_id = 'cw-par2' where id = 'cw-kid2';
select results_eq($$ select * from durable.cancel_where(p_queue => 'cw_fam', p_name => 'par') $$,
  $$ values (3::bigint, false) $$, 'two parents and the unfinished child of one: three cancelled');
select results_eq($$ select status, error ->> 'type' from durable.workflows where id = 'cw-kid2' $$,
  $$ values ('cancelled'::text, 'Cancelled'::text) $$, 'the child is cancelled with its parent');

select * from finish();
rollback;
