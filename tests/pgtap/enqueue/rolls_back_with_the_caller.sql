-- enqueue runs in the caller's transaction: when that transaction rolls back, the workflow is
-- gone; before it commits, nobody else sees it.
begin;
select plan(4);

savepoint before_enqueue;
select durable.enqueue('rolled_back', p_workflow_id => 'rb-1');
select is((select count(*)::int from durable.workflows where id = 'rb-1'), 1,
  'inside the transaction the workflow exists');
rollback to savepoint before_enqueue;
select is((select count(*)::int from durable.workflows where id = 'rb-1'), 0,
  'after the rollback it is gone');

-- a separate session's uncommitted enqueue is invisible, and rolled back leaves nothing
select dblink_connect('rb_other', durable_test.connstr());
select dblink_exec('rb_other', 'begin');
select * from dblink('rb_other',
  $$ select workflow_id from durable.enqueue('rolled_back', p_workflow_id => 'rb-2') $$) as t(id text);
select is((select count(*)::int from durable.workflows where id = 'rb-2'), 0,
  'an uncommitted enqueue in another session is not visible');
select dblink_exec('rb_other', 'rollback');
select is(
  (select n from dblink('rb_other', $$ select count(*)::int from durable.workflows where id = 'rb-2' $$)
     as t(n int)), 0,
  'after that session rolls back the workflow does not exist there either');
select dblink_disconnect('rb_other');

select * from finish();
rollback;
