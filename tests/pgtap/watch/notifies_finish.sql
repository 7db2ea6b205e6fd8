-- A watched workflow's finish sends NOTIFY durable_finished, payload its id, when the finish
-- commits: succeeded (complete), failed for good (fail), cancelled (cancel). A
-- retry scheduled after a failure is not a finish; an unwatched workflow's finish notifies
-- nobody. Real sessions via dblink: notifications arrive in commit order, so a missing one is
-- proven missing by the one after it. What the sessions commit is deleted at the end.
begin;
\ir ../waiting_fixtures.sql
select plan(7);

select dblink_connect('wn_listen', durable_test.connstr());
select dblink_connect('wn_client', durable_test.connstr());
select dblink_exec('wn_listen', 'listen durable_finished');
select durable_test.remote('wn_client', $$ select durable.set_queue('wn_q') $$);
select durable_test.remote('wn_client', $$ select * from durable.enqueue_batch('[
  {"name": "wf", "queue": "wn_q", "workflow_id": "wn-ok"},
  {"name": "wf", "queue": "wn_q", "workflow_id": "wn-fail"},
  {"name": "wf", "queue": "wn_q", "workflow_id": "wn-unwatched"},
  {"name": "wf", "queue": "wn_q", "workflow_id": "wn-cancel"},
  {"name": "wf", "queue": "wn_q", "workflow_id": "wn-retry"}]') $$);
select is(durable_test.remote_value('wn_client', $$
  select string_agg(w.status, ',' order by i) from unnest(array['wn-ok', 'wn-fail', 'wn-cancel', 'wn-retry']) with ordinality u(id, i),
         durable.watch(u.id) w $$),
  'pending,pending,pending,pending', 'the client watches four of them: each is pending');
select durable_test.remote('wn_client', $$ select * from durable.claim('wn-worker', array['wn_q'], 10) $$);
select durable_test.notifications('wn_listen', 'durable_finished');

select durable_test.remote('wn_client', $$ select durable.complete('wn-ok', (select lease from durable.workflows where id = 'wn-ok'), '1') $$);
select results_eq($$ select durable_test.notifications('wn_listen', 'durable_finished', 1) $$,
  $$ values ('wn-ok'::text) $$, 'complete notifies, with the id');

select durable_test.remote('wn_client', $$ select durable.complete('wn-unwatched', (select lease from durable.workflows where id = 'wn-unwatched'), '1') $$);
select durable_test.remote('wn_client', $$ select * from durable.fail('wn-retry', (select lease from durable.workflows where id = 'wn-retry'), '{}') $$);
select durable_test.remote('wn_client', $$ select * from durable.fail('wn-fail', (select lease from durable.workflows where id = 'wn-fail'), '{}', false) $$);
select results_eq($$ select durable_test.notifications('wn_listen', 'durable_finished', 1) $$,
  $$ values ('wn-fail'::text) $$,
  'a failure for good notifies; an unwatched finish and a failure to be retried do not');
select is((select status from durable.workflows where id = 'wn-retry'), 'pending', 'the retried one is pending again');

select dblink_exec('wn_client', 'begin');
select durable_test.remote('wn_client', $$ select durable.cancel('wn-cancel') $$);
select dblink_exec('wn_client', 'rollback');
select durable_test.remote('wn_client', $$ select durable.cancel('wn-cancel') $$);
select results_eq($$ select durable_test.notifications('wn_listen', 'durable_finished', 1) $$,
  $$ values ('wn-cancel'::text) $$, 'a cancel notifies when it commits (not when it rolls back)');
select is(durable_test.remote_value('wn_client', $$ select status || ' ' || output::text from durable.watch('wn-ok') $$),
  'succeeded 1', 'watch after the notification returns the result');

-- clean up what was committed
select dblink_exec('wn_listen', 'unlisten *');
select dblink_exec('wn_client', $$ delete from durable.workflows where queue = 'wn_q' $$);
select dblink_exec('wn_client', $$ delete from durable.queues where name = 'wn_q' $$);
select dblink_exec('wn_client', $$ delete from durable.workers where id = 'wn-worker' $$);
select is(durable_test.remote_value('wn_client', $$
  select (select count(*) from durable.workflows where id like 'wn-%')
       + (select count(*) from durable.queues where name = 'wn_q')
       + (select count(*) from durable.workers where id = 'wn-worker') $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('wn_listen');
select dblink_disconnect('wn_client');

select * from finish();
rollback;
