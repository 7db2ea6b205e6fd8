-- A purge never waits for a lock: a finished row another session holds is left for a later
-- batch, and so is a workflow whose child another session holds (the delete would write the
-- child's parent_id); and a claim does not wait for a purge's open transaction. Three real
-- sessions (dblink): A holds locks, B purges and claims with lock_timeout = 5s (a wait would be
-- an error, not a hang); what they commit is deleted at the end.
begin;
\ir ../waiting_fixtures.sql
select plan(9);

select dblink_connect('pl_a', durable_test.connstr());
select dblink_connect('pl_b', durable_test.connstr());
select dblink_exec('pl_b', $$ set lock_timeout = '5s' $$);
select durable_test.remote('pl_a', $$ select durable.set_queue('pl_q') $$);
select durable_test.remote('pl_a', $$
  select durable_test.make(i, s, n, 'pl_q')
    from (values ('pl-held', 'succeeded', 'wf'), ('pl-free', 'succeeded', 'wf'),
                 ('pl-parent', 'failed', 'wf'), ('pl-kid', 'cancelled', 'kid'),
                 ('pl-todo', 'pending', 'wf')) v(i, s, n) $$);
select dblink_exec('pl_a', $$ update durable.workflows set parent_id = 'pl-parent' where id = 'pl-kid' $$);

-- A holds pl-held and pl-kid (an operator's open transaction)
select dblink_exec('pl_a', 'begin');
select durable_test.remote('pl_a', $$ select 1 from durable.workflows where id in ('pl-held', 'pl-kid') for update $$);
select is(durable_test.remote_value('pl_b', $$ select row(p.*)::text from durable.purge_where(p_queue => 'pl_q', p_name => 'wf') p $$),
  '(1,f)', 'B''s purge deletes the one free row, without waiting');
select is(durable_test.remote_value('pl_b', $$ select string_agg(id, ' ' order by id) from durable.workflows where queue = 'pl_q' $$),
  'pl-held pl-kid pl-parent pl-todo', 'the held row and the parent of the held child stay');
select dblink_exec('pl_a', 'rollback');
select is(durable_test.remote_value('pl_b', $$ select row(p.*)::text from durable.purge_where(p_queue => 'pl_q', p_name => 'wf') p $$),
  '(2,f)', 'once released, the next batch deletes them');
select is(durable_test.remote_value('pl_b', $$ select coalesce(parent_id, 'null') from durable.workflows where id = 'pl-kid' $$),
  'null', 'the child (not matched: another name) stays, with parent_id null');

-- A purges with its transaction open; B claims meanwhile
select durable_test.remote('pl_a', $$ select durable_test.make('pl-done', 'succeeded', 'wf', 'pl_q') $$);
select dblink_exec('pl_a', 'begin');
select is(durable_test.remote_value('pl_a', $$ select purged::text from durable.purge_where(p_queue => 'pl_q') $$),
  '2', 'A purges the queue''s finished rows, transaction open');
select is(durable_test.remote_value('pl_b', $$ select workflow_id from durable.claim('pl-worker', array['pl_q']) $$),
  'pl-todo', 'a claim in B meanwhile takes the pending workflow');
select is(durable_test.remote_value('pl_b', $$ select status from durable.workflows where id = 'pl-done' $$),
  'succeeded', 'B still sees the rows A''s purge has not committed');
select dblink_exec('pl_a', 'rollback');
select is(durable_test.remote_value('pl_b', $$ select row(p.*)::text from durable.cancel_where(p_queue => 'pl_q') p $$),
  '(1,f)', 'B cancels the claimed one');

-- clean up what was committed
select dblink_exec('pl_a', $$ delete from durable.workflows where queue = 'pl_q' $$);
select dblink_exec('pl_a', $$ delete from durable.queues where name = 'pl_q' $$);
select dblink_exec('pl_a', $$ delete from durable.workers where id = 'pl-worker' $$);
select is(durable_test.remote_value('pl_a', $$ select ((select count(*) from durable.workflows where queue = 'pl_q')
                                                      + (select count(*) from durable.queues where name = 'pl_q'))::text $$),
  '0', 'the committed rows are cleaned up');
select dblink_disconnect('pl_a');
select dblink_disconnect('pl_b');
select * from finish();
rollback;
