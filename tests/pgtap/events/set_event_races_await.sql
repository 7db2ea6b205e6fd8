-- A set_event racing an await_event that parks: whichever commits first, the awaiting run is
-- never left waiting while the event it waits for is set. Two real sessions (dblink): the one
-- that goes first holds its transaction open while the other's call runs (it may block on a
-- lock; the test waits until it is blocked or done, asserting nothing on timing), then commits.
--   1. the await parks first, the set_event comes during its transaction
--   2. the set_event comes first, the await during its transaction
-- What the sessions commit is deleted at the end.
begin;
\ir ../waiting_fixtures.sql
select plan(7);

select dblink_connect('er_a', durable_test.connstr());
select dblink_connect('er_b', durable_test.connstr());
select durable_test.remote_value('er_a', 'select pg_backend_pid()::text') as pid_a \gset
select durable_test.remote_value('er_b', 'select pg_backend_pid()::text') as pid_b \gset
select durable_test.remote('er_a', $$ select durable.set_queue('er_q') $$);
select durable_test.remote('er_a', $$ select * from durable.enqueue_batch('[
  {"name": "wf", "queue": "er_q", "workflow_id": "er-target"},
  {"name": "wf", "queue": "er_q", "workflow_id": "er-1"},
  {"name": "wf", "queue": "er_q", "workflow_id": "er-2"}]') $$);
select durable_test.remote('er_a', $$ select * from durable.claim('er-worker', array['er_q'], 3) $$);

-- 1. session A parks er-1 on event k1 of er-target; session B sets it meanwhile
select dblink_exec('er_a', 'begin');
select is(durable_test.remote_value('er_a', $$
  select r.parked::text from durable.await_event('er-1', (select lease from durable.workflows where id = 'er-1'),
                                                 0, 'er-target', 'k1') r $$),
  'true', 'race 1: A''s await parks (not committed yet)');
select dblink_send_query('er_b', $$
  select durable.set_event('er-target', (select lease from durable.workflows where id = 'er-target'), 0, 'k1', '1')::text $$);
select ok(durable_test.settle('er_b', :pid_b) in ('blocked', 'done'), 'race 1: B''s set_event runs');
select dblink_exec('er_a', 'commit');
select * from dblink_get_result('er_b') as t(v text);
select * from dblink_get_result('er_b') as t(v text);
select is((select status from durable.workflows where id = 'er-1'), 'pending',
  'race 1: the awaiting run is pending, to take the event');

-- 2. session B sets k2 and holds its transaction; session A's await comes meanwhile
select dblink_exec('er_b', 'begin');
select durable_test.remote('er_b', $$
  select durable.set_event('er-target', (select lease from durable.workflows where id = 'er-target'), 1, 'k2', '2') $$);
select dblink_send_query('er_a', $$
  select r.parked::text from durable.await_event('er-2', (select lease from durable.workflows where id = 'er-2'),
                                                 0, 'er-target', 'k2') r $$);
select ok(durable_test.settle('er_a', :pid_a) in ('blocked', 'done'), 'race 2: A''s await runs');
select dblink_exec('er_b', 'commit');
select * from dblink_get_result('er_a') as t(parked text);
select * from dblink_get_result('er_a') as t(parked text);
select ok((select (w.status = 'running' and exists (select 1 from durable.steps s where s.workflow_id = w.id and s.step_id = 0))
                  or w.status = 'pending'
             from durable.workflows w where w.id = 'er-2'),
  'race 2: the await took the value, or the run is pending to take it');

select is_empty($$ select w.id from durable.waits a join durable.workflows w on w.id = a.workflow_id
                    where w.queue = 'er_q' and w.status = 'waiting' and a.kind = 'event'
                      and a.resolved_at is null
                      and exists (select 1 from durable.events e
                                   where e.workflow_id = a.target and e.key = a.topic) $$,
  'no run is left waiting for an event that is set');

-- clean up what was committed
select dblink_exec('er_a', $$ delete from durable.workflows where queue = 'er_q' $$);
select dblink_exec('er_a', $$ delete from durable.queues where name = 'er_q' $$);
select dblink_exec('er_a', $$ delete from durable.workers where id = 'er-worker' $$);
select is(durable_test.remote_value('er_a', $$
  select (select count(*) from durable.workflows where id like 'er-%')
       + (select count(*) from durable.queues where name = 'er_q')
       + (select count(*) from durable.workers where id = 'er-worker') $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('er_a');
select dblink_disconnect('er_b');

select * from finish();
rollback;
