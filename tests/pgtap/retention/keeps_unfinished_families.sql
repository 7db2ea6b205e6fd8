-- A purge keeps a finished workflow while its parent is unfinished (the parent may still await
-- it) or while one of its children is (a cancel of the parent still reaches it); a finished
-- family goes, in one batch or in several.
begin;
select plan(7);
select durable_test.pin();
-- a finished child of a running parent
select durable_test.make('kf-parent-running', 'running');
select durable_test.make('kf-kid-done', 'succeeded');
-- a finished parent with a waiting child
select durable_test.make('kf-parent-done', 'succeeded');
select durable_test.make('kf-kid-waiting', 'pending');
-- a finished family of three generations
select durable_test.make('kf-a', 'succeeded');
select durable_test.make('kf-b', 'failed');
select durable_test.make('kf-c', 'cancelled');
update durable.workflows set parent_id = 'kf-parent-running' where id = 'kf-kid-done';
update durable.workflows set parent_id = 'kf-parent-done' where id = 'kf-kid-waiting';
update durable.workflows set parent_id = 'kf-a' where id = 'kf-b';
update durable.workflows set parent_id = 'kf-b' where id = 'kf-c';
select durable_test.advance(interval '1 day');

select results_eq($$ select * from durable.purge_batch(interval '1 hour', 2) $$,
  $$ values (2::bigint, true) $$, 'two of the finished family in a first batch');
select results_eq($$ select * from durable.purge_batch(interval '1 hour', 2) $$,
  $$ values (1::bigint, false) $$, 'the third in the next');
select set_eq($$ select id from durable.workflows where id like 'kf-%' $$,
  $$ values ('kf-parent-running'), ('kf-kid-done'), ('kf-parent-done'), ('kf-kid-waiting') $$,
  'the finished child of a running parent and the finished parent of a waiting child stay');
select results_eq($$ select * from durable.purge_where(p_status => '{succeeded,failed,cancelled}', p_dry_run => true) $$,
  $$ values (0::bigint, false) $$, 'a dry run of purge_where counts them out too');

select durable_test.set_status('kf-parent-running', 'succeeded');
select durable_test.set_status('kf-kid-waiting', 'cancelled');
select durable_test.advance(interval '1 day');
select results_eq($$ select * from durable.purge_batch(interval '1 hour', 10) $$,
  $$ values (4::bigint, false) $$, 'once all are finished, all go');
select is((select count(*)::int from durable.workflows where id like 'kf-%'), 0, 'none is left');
select is((select count(*)::int from durable.workflows where parent_id is not null and id like 'kf-%'), 0,
  'and no dangling parent_id');

select * from finish();
rollback;
