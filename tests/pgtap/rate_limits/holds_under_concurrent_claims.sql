-- Under concurrent claims (sessions over dblink) the rate limit holds without claims waiting for
-- each other: each start takes a start slot row (skip locked); set_queue makes the slots, so
-- claims find them made. What the sessions commit is deleted at the end.
begin;
select plan(8);

select dblink_connect('rl_a', durable_test.connstr());
select dblink_connect('rl_b', durable_test.connstr());
select dblink_connect('rl_c', durable_test.connstr());
select durable_test.remote('rl_c', $$ select durable.set_queue('rl-q', p_rate_limit => 3, p_rate_period => interval '1 hour') $$);
select durable_test.remote('rl_c', $$
  select durable.enqueue('wf', p_queue => 'rl-q', p_workflow_id => 'rl-' || i)
    from generate_series(1, 10) i $$);

select dblink_exec('rl_a', 'begin');
select is((select n from dblink('rl_a', $$ select count(*) from durable.claim('rl-wa', array['rl-q'], 2, interval '1 hour') $$)
             as t(n bigint)), 2::bigint,
  'A starts 2 (not committed yet: it holds slots 1 and 2)');
select dblink_exec('rl_b', 'begin');
select dblink_exec('rl_b', $$ set local lock_timeout = '1s' $$);
select is((select n from dblink('rl_b', $$ select count(*) from durable.claim('rl-wb', array['rl-q'], 5, interval '1 hour') $$)
             as t(n bigint)), 1::bigint,
  'B does not wait for A: it takes the one slot A does not hold');
select dblink_exec('rl_b', 'commit');
select dblink_exec('rl_a', 'commit');
select durable_test.remote('rl_c', $$ select durable.set_queue('rl-q', p_rate_limit => 4) $$);

-- both at once: of the one start left (the limit raised to 4), exactly one claim gets it
select dblink_send_query('rl_a', $$ select count(*) from durable.claim('rl-wa', array['rl-q'], 5, interval '1 hour') $$);
select dblink_send_query('rl_b', $$ select count(*) from durable.claim('rl-wb', array['rl-q'], 5, interval '1 hour') $$);
create temp table rl_got as
  select (select n from dblink_get_result('rl_a') as t(n bigint)) as a,
         (select n from dblink_get_result('rl_b') as t(n bigint)) as b;
select * from dblink_get_result('rl_a') as t(n bigint);
select * from dblink_get_result('rl_b') as t(n bigint);
select is((select a + b from rl_got), 1::bigint, 'two simultaneous claims take the one start left once');
select is((select n from dblink('rl_c', $$ select count(*) from durable.workflows
                                            where queue = 'rl-q' and status = 'running' $$) as t(n bigint)),
  4::bigint, '4 started in the hour: the limit');
select is((select n from dblink('rl_c', $$ select count(*) from durable.claim('rl-wc', array['rl-q'], 5, interval '1 hour') $$)
             as t(n bigint)), 0::bigint, 'a third session gets none');
select results_eq(
  $$ select slot from dblink('rl_c', $q$ select slot from durable.queue_starts where queue = 'rl-q' order by slot $q$)
       as t(slot integer) $$,
  $$ values (1), (2), (3), (4) $$,
  'four start slots, one per start');

-- a slot held by an open claim is skipped, not waited for: with the limit raised to 6,
-- A holds slot 5 uncommitted and B takes slot 6
select durable_test.remote('rl_c', $$ select durable.set_queue('rl-q', p_rate_limit => 6, p_rate_period => interval '1 hour') $$);
select dblink_exec('rl_a', 'begin');
select is((select n from dblink('rl_a', $$ select count(*) from durable.claim('rl-wa', array['rl-q'], 1, interval '1 hour') $$)
             as t(n bigint)), 1::bigint, 'A starts one more (slot 5, open)');
select is((select n from dblink('rl_b', $$ select count(*) from durable.claim('rl-wb', array['rl-q'], 5, interval '1 hour') $$)
             as t(n bigint)), 1::bigint, 'B does not wait for A''s slot: it takes the other one left');
select dblink_exec('rl_a', 'commit');

select dblink_exec('rl_c', $$ delete from durable.workflows where queue = 'rl-q' $$);
select dblink_exec('rl_c', $$ delete from durable.workers where id like 'rl-w%' $$);
select dblink_exec('rl_c', $$ delete from durable.queues where name = 'rl-q' $$);
select dblink_disconnect('rl_a');
select dblink_disconnect('rl_b');
select dblink_disconnect('rl_c');
select * from finish();
rollback;
