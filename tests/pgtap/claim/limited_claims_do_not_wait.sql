-- Claims of a queue with a concurrency limit do not wait for each other: each takes free run
-- slots (durable.run_slots) skip locked, and no queue row is locked. Session A holds an
-- uncommitted claim of one run of a queue limited to 2 and an uncommitted set_queue of another
-- queue; B (lock_timeout 1 s: a wait fails the test instead of hanging it) claims the second slot
-- at once, then nothing (both slots held); after A commits, the limit still holds. What the
-- sessions commit is deleted at the end.
begin;
select plan(7);

select dblink_connect('lw_a', durable_test.connstr());
select dblink_connect('lw_b', durable_test.connstr());
select dblink_connect('lw_c', durable_test.connstr());
select durable_test.remote('lw_c', $$ select durable.set_queue('lw-q', 2) $$);
select durable_test.remote('lw_c', $$ select durable.set_queue('lw-r', 1) $$);
select durable_test.remote('lw_c', $$
  select durable.enqueue('wf', p_queue => q, p_workflow_id => q || '-' || i)
    from generate_series(1, 3) i, unnest(array['lw-q', 'lw-r']) q $$);
select dblink_exec('lw_b', $$ set lock_timeout = '1s' $$);

select dblink_exec('lw_a', 'begin');
select is((select n from dblink('lw_a', $$ select count(*) from durable.claim('lw-wa', array['lw-q'], 1, interval '1 hour') $$)
             as t(n bigint)), 1::bigint,
  'A claims one run of lw-q (not committed)');
select durable_test.remote('lw_a', $$ select durable.set_queue('lw-r', 1) $$);
select is((select n from dblink('lw_b', $$ select count(*) from durable.claim('lw-wb', array['lw-q', 'lw-r'], 10, interval '1 hour') $$)
             as t(n bigint)), 2::bigint,
  'B does not wait for A: it takes lw-q''s other slot and lw-r''s one');
select is((select n from dblink('lw_b', $$ select count(*) from durable.claim('lw-wb', array['lw-q', 'lw-r'], 10, interval '1 hour') $$)
             as t(n bigint)), 0::bigint,
  'a second claim of B takes nothing: every slot is held (one by A''s uncommitted claim)');
select dblink_exec('lw_a', 'commit');
select is((select n from dblink('lw_b', $$ select count(*) from durable.claim('lw-wb', array['lw-q', 'lw-r'], 10, interval '1 hour') $$)
             as t(n bigint)), 0::bigint,
  'after A commits, still nothing: 2 run in lw-q, 1 in lw-r');
select results_eq(
  $$ select q, n from dblink('lw_c', $q$ select queue, count(*) from durable.workflows
                                          where queue like 'lw-%' and status = 'running' group by 1 order by 1 $q$)
       as t(q text, n bigint) $$,
  $$ values ('lw-q'::text, 2::bigint), ('lw-r', 1) $$,
  'the limits hold');
-- one finishes: its slot is free with no write (its lease no longer runs)
select durable_test.remote('lw_c', $$
  select durable.complete(w.id, w.lease, '"ok"') from durable.workflows w
   where w.id = (select min(id) from durable.workflows where queue = 'lw-q' and status = 'running') $$);
select is((select n from dblink('lw_b', $$ select count(*) from durable.claim('lw-wb', array['lw-q'], 10, interval '1 hour') $$)
             as t(n bigint)), 1::bigint,
  'a completed run''s slot is taken again');

select dblink_exec('lw_c', $$ delete from durable.workflows where queue like 'lw-%' $$);
select dblink_exec('lw_c', $$ delete from durable.run_slots where queue like 'lw-%' $$);
select dblink_exec('lw_c', $$ delete from durable.workers where id like 'lw-w%' $$);
select dblink_exec('lw_c', $$ delete from durable.queues where name like 'lw-%' $$);
select is(
  (select n from dblink('lw_c', $$ select (select count(*) from durable.queues where name like 'lw-%')
                                        + (select count(*) from durable.workers where id like 'lw-w%') $$)
     as t(n bigint)), 0::bigint,
  'the committed rows are cleaned up');

select dblink_disconnect('lw_a');
select dblink_disconnect('lw_b');
select dblink_disconnect('lw_c');

select * from finish();
rollback;
