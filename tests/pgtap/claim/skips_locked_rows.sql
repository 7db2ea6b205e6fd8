-- claim skips rows another transaction holds locked (FOR UPDATE SKIP LOCKED) instead of waiting
-- for them. Two other sessions (dblink), so the rows and locks are real: session A locks a
-- committed workflow, session B claims. What they commit is deleted at the end.
begin;
select plan(6);

select dblink_connect('skip_a', durable_test.connstr());
select dblink_connect('skip_b', durable_test.connstr());
-- B must never wait: if it did, its statement times out and the test fails
select dblink_exec('skip_b', $$ set statement_timeout = '5s' $$);

select durable_test.remote('skip_a', $$ select durable.set_queue('skip_locked_q') $$);
select durable_test.remote('skip_a', $$
  select * from durable.enqueue_batch('[
    {"name": "wf", "workflow_id": "skip-locked-1", "queue": "skip_locked_q", "priority": 1},
    {"name": "wf", "workflow_id": "skip-locked-2", "queue": "skip_locked_q"}]') $$);

select dblink_exec('skip_a', 'begin');
select is(
  (select id from dblink('skip_a', $$ select id from durable.workflows
                                       where id = 'skip-locked-1' for update $$) as t(id text)),
  'skip-locked-1', 'session A locks the first workflow (the one a claim would take first)');

select results_eq(
  $$ select durable_test.remote_rows('skip_b', $q$ select workflow_id from durable.claim('skip-worker-b',
       array['skip_locked_q'], 2) $q$) $$,
  $$ values ('skip-locked-2'::text) $$,
  'session B''s claim skips the locked row at once and takes the other one');

select dblink_exec('skip_a', 'rollback');
select results_eq(
  $$ select durable_test.remote_rows('skip_b', $q$ select workflow_id from durable.claim('skip-worker-b',
       array['skip_locked_q'], 2) $q$) $$,
  $$ values ('skip-locked-1'::text) $$,
  'once A lets go, B claims it');

select results_eq(
  $$ select id, status, owner from durable.workflows where queue = 'skip_locked_q' order by id $$,
  $$ values ('skip-locked-1'::text, 'running'::text, 'skip-worker-b'::text),
            ('skip-locked-2', 'running', 'skip-worker-b') $$,
  'both are running for B, each claimed once');

-- a claim in this session does not wait for rows another session holds either
select durable_test.remote('skip_a', $$
  select * from durable.enqueue('wf', p_queue => 'skip_locked_q', p_workflow_id => 'skip-locked-3') $$);
select dblink_exec('skip_a', 'begin');
select * from dblink('skip_a', $$ select id from durable.workflows where id = 'skip-locked-3'
                                   for update $$) as t(id text);
set local lock_timeout = '5s';
select is(
  durable_test.sqlstate($$
    do $d$
    begin
      if (select count(*) from durable.claim('skip-worker-c', array['skip_locked_q'])) <> 0 then
        raise exception 'claimed a locked row' using errcode = 'XX001';
      end if;
    end
    $d$ $$),
  'ok', 'a claim in this session skips the row session A holds, without waiting (its work undone)');
select dblink_exec('skip_a', 'rollback');

-- clean up what the sessions committed
select dblink_exec('skip_b', $$ delete from durable.workflows where queue = 'skip_locked_q' $$);
select dblink_exec('skip_b', $$ delete from durable.queues where name = 'skip_locked_q' $$);
select dblink_exec('skip_b', $$ delete from durable.workers where id like 'skip-worker-%' $$);
select is(
  (select n from dblink('skip_b', $$ select (select count(*) from durable.workflows where id like 'skip-locked-%')
                                          + (select count(*) from durable.queues where name = 'skip_locked_q')
                                          + (select count(*) from durable.workers where id like 'skip-worker-%') $$)
     as t(n bigint)), 0::bigint,
  'the committed rows are cleaned up');

select dblink_disconnect('skip_a');
select dblink_disconnect('skip_b');

select * from finish();
rollback;
