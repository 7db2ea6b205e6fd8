-- A child finishing racing its parent's await_children that parks: whichever commits first,
-- the parent is never left waiting for children that are all finished. Two real sessions
-- (dblink): the one that goes first holds its transaction open while the other's call runs
-- (it may block on a lock; the test waits until it is blocked or done, asserting nothing on
-- timing), then commits.
--   1. the await parks first, the child completes during its transaction
--   2. the child completes first, the await comes during its transaction
-- What the sessions commit is deleted at the end.
begin;
\ir ../waiting_fixtures.sql
select plan(7);

select dblink_connect('cr_a', durable_test.connstr());
select dblink_connect('cr_b', durable_test.connstr());
select durable_test.remote_value('cr_a', 'select pg_backend_pid()::text') as pid_a \gset
select durable_test.remote_value('cr_b', 'select pg_backend_pid()::text') as pid_b \gset
select durable_test.remote('cr_a', $$ select durable.set_queue('cr_q') $$);
select durable_test.remote('cr_a', $$ select durable.set_queue('cr_kids') $$);
select durable_test.remote('cr_a', $$ select * from durable.enqueue_batch('[
  {"name": "wf", "queue": "cr_q", "workflow_id": "cr-1"},
  {"name": "wf", "queue": "cr_q", "workflow_id": "cr-2"}]') $$);
select durable_test.remote('cr_a', $$ select * from durable.claim('cr-worker', array['cr_q'], 2) $$);
select durable_test.remote('cr_a', $$ select durable.start_child(w.id, w.lease, 0, 'kid', p_queue => 'cr_kids')
                                        from durable.workflows w where w.queue = 'cr_q' $$);
select durable_test.remote('cr_a', $$ select * from durable.claim('cr-kid-worker', array['cr_kids'], 2) $$);

-- 1. session A parks cr-1 awaiting cr-1-0; session B completes cr-1-0 meanwhile
select dblink_exec('cr_a', 'begin');
select is(durable_test.remote_value('cr_a', $$
  select r.parked::text from durable.await_children('cr-1', (select lease from durable.workflows where id = 'cr-1'),
                                                    1, array['cr-1-0']) r $$),
  'true', 'race 1: A''s await parks (not committed yet)');
select dblink_send_query('cr_b', $$
  select durable.complete('cr-1-0', (select lease from durable.workflows where id = 'cr-1-0'), '"one"')::text $$);
select ok(durable_test.settle('cr_b', :pid_b) in ('blocked', 'done'), 'race 1: B''s complete runs');
select dblink_exec('cr_a', 'commit');
select * from dblink_get_result('cr_b') as t(v text);
select * from dblink_get_result('cr_b') as t(v text);
select is((select status from durable.workflows where id = 'cr-1'), 'pending',
  'race 1: the parent is pending, to record its child''s outcome');

-- 2. session B completes cr-2-0 and holds its transaction; session A's await comes meanwhile
select dblink_exec('cr_b', 'begin');
select durable_test.remote('cr_b', $$
  select durable.complete('cr-2-0', (select lease from durable.workflows where id = 'cr-2-0'), '"two"') $$);
select dblink_send_query('cr_a', $$
  select r.parked::text from durable.await_children('cr-2', (select lease from durable.workflows where id = 'cr-2'),
                                                    1, array['cr-2-0']) r $$);
select ok(durable_test.settle('cr_a', :pid_a) in ('blocked', 'done'), 'race 2: A''s await runs');
select dblink_exec('cr_b', 'commit');
select * from dblink_get_result('cr_a') as t(parked text);
select * from dblink_get_result('cr_a') as t(parked text);
select ok((select (w.status = 'running' and exists (select 1 from durable.steps s where s.workflow_id = w.id and s.step_id = 1))
                  or w.status = 'pending'
             from durable.workflows w where w.id = 'cr-2'),
  'race 2: the await recorded the outcome, or the parent is pending to record it');

select is_empty($$ select w.id from durable.waits a join durable.workflows w on w.id = a.workflow_id
                    where w.queue = 'cr_q' and w.status = 'waiting' and a.kind = 'children'
                      and a.resolved_at is null
                      and not exists (select 1 from durable.workflows c
                                       where c.id = any (a.children)
                                         and c.status in ('pending', 'running', 'waiting')) $$,
  'no parent is left waiting for children that are all finished');

-- clean up what was committed
select dblink_exec('cr_a', $$ delete from durable.workflows where queue in ('cr_q', 'cr_kids') $$);
select dblink_exec('cr_a', $$ delete from durable.queues where name in ('cr_q', 'cr_kids') $$);
select dblink_exec('cr_a', $$ delete from durable.workers where id in ('cr-worker', 'cr-kid-worker') $$);
select is(durable_test.remote_value('cr_a', $$
  select (select count(*) from durable.workflows where id like 'cr-%')
       + (select count(*) from durable.queues where name in ('cr_q', 'cr_kids'))
       + (select count(*) from durable.workers where id in ('cr-worker', 'cr-kid-worker')) $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('cr_a');
select dblink_disconnect('cr_b');

select * from finish();
rollback;
