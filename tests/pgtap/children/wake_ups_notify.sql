-- A wake-up by a child's finish or by a set_event sends NOTIFY durable_runnable for the woken
-- run's queue when it commits, when a worker waits on that queue (its claim found nothing):
-- the woken run is picked up at once, not at the next poll. Real sessions via dblink:
-- notifications arrive in commit order. What the sessions commit is deleted at the end.
begin;
\ir ../waiting_fixtures.sql
select plan(5);

select dblink_connect('wu_listen', durable_test.connstr());
select dblink_connect('wu_s', durable_test.connstr());
select dblink_exec('wu_listen', 'listen durable_runnable');
select durable_test.remote('wu_s', $$ select durable.set_queue(q) from unnest(array['wu_parents', 'wu_kids', 'wu_targets']) q $$);
select durable_test.remote('wu_s', $$ select * from durable.enqueue_batch('[
  {"name": "wf", "queue": "wu_parents", "workflow_id": "wu-parent"},
  {"name": "wf", "queue": "wu_parents", "workflow_id": "wu-waiter"},
  {"name": "wf", "queue": "wu_targets", "workflow_id": "wu-target"}]') $$);
select durable_test.remote('wu_s', $$ select * from durable.claim('wu-worker', array['wu_parents', 'wu_targets'], 3) $$);
select durable_test.remote('wu_s', $$ select durable.start_child('wu-parent', (select lease from durable.workflows where id = 'wu-parent'), 0, 'kid', p_queue => 'wu_kids') $$);
select durable_test.remote('wu_s', $$ select * from durable.claim('wu-kid-worker', array['wu_kids']) $$);
select is(durable_test.remote_value('wu_s', $$
  select string_agg(r.parked::text, ',') from (
    select * from durable.await_children('wu-parent', (select lease from durable.workflows where id = 'wu-parent'), 1, array['wu-parent-0'])
    union all
    select * from durable.await_event('wu-waiter', (select lease from durable.workflows where id = 'wu-waiter'), 0, 'wu-target', 'k')) r $$),
  'true,true', 'the parent and the waiter park');
-- a worker waits on wu_parents
select durable_test.remote('wu_s', $$ select * from durable.claim('wu-idle', array['wu_parents']) $$);
select durable_test.notifications('wu_listen', 'durable_runnable');

select durable_test.remote('wu_s', $$ select durable.complete('wu-parent-0', (select lease from durable.workflows where id = 'wu-parent-0'), '"ok"') $$);
select results_eq($$ select durable_test.notifications('wu_listen', 'durable_runnable', 1) $$,
  $$ values ('wu_parents'::text) $$, 'a child''s finish that wakes its parent notifies the parent''s queue');
select durable_test.remote('wu_s', $$ select durable.set_event('wu-target', (select lease from durable.workflows where id = 'wu-target'), 0, 'k', '1') $$);
select results_eq($$ select durable_test.notifications('wu_listen', 'durable_runnable', 1) $$,
  $$ values ('wu_parents'::text) $$, 'a set_event that wakes an awaiting run notifies its queue');
select results_eq($$ select id, status from durable.workflows where id in ('wu-parent', 'wu-waiter') order by id $$,
  $$ values ('wu-parent'::text, 'pending'::text), ('wu-waiter', 'pending') $$, 'both are pending');

-- clean up what was committed
select dblink_exec('wu_listen', 'unlisten *');
select dblink_exec('wu_s', $$ delete from durable.workflows where queue in ('wu_parents', 'wu_kids', 'wu_targets') $$);
select dblink_exec('wu_s', $$ delete from durable.queues where name in ('wu_parents', 'wu_kids', 'wu_targets') $$);
select dblink_exec('wu_s', $$ delete from durable.workers where id like 'wu-%' $$);
select is(durable_test.remote_value('wu_s', $$
  select (select count(*) from durable.workflows where id like 'wu-%')
       + (select count(*) from durable.queues where name like 'wu\_%')
       + (select count(*) from durable.workers where id like 'wu-%') $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('wu_listen');
select dblink_disconnect('wu_s');

select * from finish();
rollback;
