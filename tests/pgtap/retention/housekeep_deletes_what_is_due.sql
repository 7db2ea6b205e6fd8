-- durable.housekeep deletes succeeded workflows older than retain_succeeded and failed or
-- cancelled ones older than retain_failed (by finished_at), with their steps, errors, waits,
-- messages and events; unfinished and recent ones stay; a purged parent's children get
-- parent_id null.
begin;
select plan(10);
select durable_test.pin();
update durable.settings set retain_succeeded = interval '7 days', retain_failed = interval '30 days';

-- finished at t0
select durable_test.make('hk-s-old', 'succeeded');
select durable_test.make('hk-f-old', 'failed');
select durable_test.make('hk-c-old', 'cancelled');
select durable_test.make('hk-p-old', 'pending');
insert into durable.steps (workflow_id, step_id, name, output, attempt, lease, created_at)
values ('hk-s-old', 0, 's', '1', 1, 1, durable.now()), ('hk-f-old', 0, 's', '1', 1, 1, durable.now());
insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
values ('hk-s-old', 0, 's', 1, '{"m": 1}', durable.now());
insert into durable.waits (workflow_id, step_id, name, kind, created_at)
values ('hk-s-old', 1, 'durable.sleep', 'sleep', durable.now());
insert into durable.messages (workflow_id, topic, message, created_at)
values ('hk-s-old', 't', '"m"', durable.now());
insert into durable.events (workflow_id, key, value, step_id, created_at)
values ('hk-s-old', 'k', '"v"', 2, durable.now());
-- finished 10 days later, one of them the child of hk-s-old
select durable_test.advance(interval '10 days');
select durable_test.make('hk-s-new', 'succeeded');
select durable_test.make('hk-kid', 'failed');
update durable.workflows set parent_id = 'hk-s-old' where id = 'hk-kid';

select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (1::bigint, false) $$,
  'at t0 + 10 days: the succeeded one of t0 is due');
select set_eq($$ select id from durable.workflows where id like 'hk-%' $$,
  $$ values ('hk-f-old'), ('hk-c-old'), ('hk-p-old'), ('hk-s-new'), ('hk-kid') $$,
  'failed and cancelled ones are kept 30 days, the recent and unfinished ones stay');
select results_eq($$ select (select count(*)::int from durable.steps where workflow_id = 'hk-s-old')
                          + (select count(*)::int from durable.errors where workflow_id = 'hk-s-old')
                          + (select count(*)::int from durable.waits where workflow_id = 'hk-s-old')
                          + (select count(*)::int from durable.messages where workflow_id = 'hk-s-old')
                          + (select count(*)::int from durable.events where workflow_id = 'hk-s-old') $$,
  $$ values (0) $$, 'its steps, errors, waits, messages and events went with it');
select is((select count(*)::int from durable.steps where workflow_id = 'hk-f-old'), 1,
  'the steps of a kept workflow stay');
select is((select parent_id from durable.workflows where id = 'hk-kid'), null,
  'its child is kept, with parent_id null');
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (0::bigint, false) $$,
  'called again: nothing more is due');

select durable_test.advance(interval '25 days');
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (3::bigint, false) $$,
  'at t0 + 35 days: the failed and cancelled of t0 and the succeeded of t0 + 10 days');
select set_eq($$ select id from durable.workflows where id like 'hk-%' $$,
  $$ values ('hk-p-old'), ('hk-kid') $$, 'the child failed 25 days ago stays, and the pending one');

update durable.settings set retain_succeeded = null;
select durable_test.make('hk-s-last', 'succeeded');
select durable_test.advance(interval '50 years');
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (1::bigint, false) $$,
  'retain_succeeded null: only the failed one is purged');
select set_eq($$ select id from durable.workflows where id like 'hk-%' $$,
  $$ values ('hk-p-old'), ('hk-s-last') $$, 'succeeded ones are kept forever');

select * from finish();
rollback;
