-- A send racing a recv that parks: whichever commits first, the receiver is never left waiting
-- with an unconsumed message on its topic. Two real sessions (dblink): the one that goes first
-- holds its transaction open while the other's call runs (it may block on a lock; the test
-- waits until it is blocked or done, asserting nothing on timing), then commits.
--   1. the recv parks first, the send comes during its transaction: the receiver ends pending
--   2. the send comes first, the recv during its transaction: the recv takes the message, or
--      parks and was woken
-- What the sessions commit is deleted at the end.
begin;
\ir ../waiting_fixtures.sql
select plan(7);

select dblink_connect('sr_a', durable_test.connstr());
select dblink_connect('sr_b', durable_test.connstr());
select durable_test.remote_value('sr_a', 'select pg_backend_pid()::text') as pid_a \gset
select durable_test.remote_value('sr_b', 'select pg_backend_pid()::text') as pid_b \gset
select durable_test.remote('sr_a', $$ select durable.set_queue('sr_q') $$);
select durable_test.remote('sr_a', $$ select * from durable.enqueue_batch('[
  {"name": "wf", "queue": "sr_q", "workflow_id": "sr-1"},
  {"name": "wf", "queue": "sr_q", "workflow_id": "sr-2"}]') $$);
select durable_test.remote('sr_a', $$ select * from durable.claim('sr-worker', array['sr_q'], 2) $$);

-- 1. session A parks sr-1 and holds its transaction; session B sends meanwhile
select dblink_exec('sr_a', 'begin');
select is(durable_test.remote_value('sr_a', $$
  select r.parked::text from durable.recv('sr-1', (select lease from durable.workflows where id = 'sr-1'), 0, 't') r $$),
  'true', 'race 1: A''s recv parks (not committed yet)');
select dblink_send_query('sr_b', $$ select durable.send('sr-1', '"m1"', 't')::text $$);
select ok(durable_test.settle('sr_b', :pid_b) in ('blocked', 'done'), 'race 1: B''s send runs');
select dblink_exec('sr_a', 'commit');
select * from dblink_get_result('sr_b') as t(id text);
select * from dblink_get_result('sr_b') as t(id text);
select results_eq($$ select w.status, m.consumed_at is null
                      from durable.workflows w join durable.messages m on m.workflow_id = w.id
                     where w.id = 'sr-1' $$,
  $$ values ('pending'::text, true) $$,
  'race 1: the receiver is pending with the message to take');

-- 2. session B sends to sr-2 and holds its transaction; session A's recv comes meanwhile
select dblink_exec('sr_b', 'begin');
select durable_test.remote('sr_b', $$ select durable.send('sr-2', '"m2"', 't') $$);
select dblink_send_query('sr_a', $$
  select r.parked::text from durable.recv('sr-2', (select lease from durable.workflows where id = 'sr-2'), 0, 't') r $$);
select ok(durable_test.settle('sr_a', :pid_a) in ('blocked', 'done'), 'race 2: A''s recv runs');
select dblink_exec('sr_b', 'commit');
select * from dblink_get_result('sr_a') as t(parked text);
select * from dblink_get_result('sr_a') as t(parked text);
select ok((select (w.status = 'running' and m.consumed_step = 0)
                  or (w.status = 'pending' and m.consumed_at is null)
             from durable.workflows w join durable.messages m on m.workflow_id = w.id
            where w.id = 'sr-2'),
  'race 2: the recv took the message, or the receiver is pending with it');

select is_empty($$ select w.id from durable.workflows w
                    where w.queue = 'sr_q' and w.status = 'waiting'
                      and exists (select 1 from durable.messages m
                                   where m.workflow_id = w.id and m.consumed_at is null) $$,
  'no receiver is left waiting with a message on its topic');

-- clean up what was committed
select dblink_exec('sr_a', $$ delete from durable.workflows where queue = 'sr_q' $$);
select dblink_exec('sr_a', $$ delete from durable.queues where name = 'sr_q' $$);
select dblink_exec('sr_a', $$ delete from durable.workers where id = 'sr-worker' $$);
select is(durable_test.remote_value('sr_a', $$
  select (select count(*) from durable.workflows where id like 'sr-%')
       + (select count(*) from durable.queues where name = 'sr_q')
       + (select count(*) from durable.workers where id = 'sr-worker') $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('sr_a');
select dblink_disconnect('sr_b');

select * from finish();
rollback;
