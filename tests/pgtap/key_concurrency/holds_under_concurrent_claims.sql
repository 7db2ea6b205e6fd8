-- Under concurrent claims (two sessions, dblink) the per-key limit holds: each run started takes
-- one of its key's run slots (durable.run_slots, skip locked), so a second claim neither waits
-- for the first (B's lock_timeout would fail it) nor takes a slot the first holds uncommitted.
-- What the sessions commit is deleted at the end.
begin;
select plan(7);

select dblink_connect('kc_a', durable_test.connstr());
select dblink_connect('kc_b', durable_test.connstr());
select dblink_connect('kc_c', durable_test.connstr());
select durable_test.remote('kc_c', $$ select durable.set_queue('kc-q', p_key_concurrency => 1) $$);
select durable_test.remote('kc_c', $$
  select durable.enqueue('wf', p_queue => 'kc-q', p_workflow_id => 'kc-' || k || '-' || i,
                         p_concurrency_key => k)
    from generate_series(1, 3) i, unnest(array['k1', 'k2']) k $$);

select dblink_exec('kc_b', $$ set lock_timeout = '1s' $$);
select dblink_exec('kc_a', 'begin');
select is((select n from dblink('kc_a', $$ select count(*) from durable.claim('kc-wa', array['kc-q'], 10, interval '1 hour') $$)
             as t(n bigint)), 2::bigint,
  'A claims one run of each key (not committed yet)');
select is((select n from dblink('kc_b', $$ select count(*) from durable.claim('kc-wb', array['kc-q'], 10, interval '1 hour') $$)
             as t(n bigint)), 0::bigint,
  'B does not wait for A, and takes none: A holds both keys'' slots, uncommitted');
select dblink_exec('kc_a', 'commit');
select is((select n from dblink('kc_b', $$ select count(*) from durable.claim('kc-wb', array['kc-q'], 10, interval '1 hour') $$)
             as t(n bigint)), 0::bigint,
  'once A commits, B sees both keys at their limit and takes none');

-- one k1 run finishes; both claim at once: exactly one of them gets the freed slot
select durable_test.remote('kc_c', $$
  select durable.complete(w.id, w.lease, '"ok"') from durable.workflows w
   where w.queue = 'kc-q' and w.status = 'running' and w.concurrency_key = 'k1' $$);
select dblink_send_query('kc_a', $$ select count(*) from durable.claim('kc-wa', array['kc-q'], 10, interval '1 hour') $$);
select dblink_send_query('kc_b', $$ select count(*) from durable.claim('kc-wb', array['kc-q'], 10, interval '1 hour') $$);
create temp table kc_got as
  select (select n from dblink_get_result('kc_a') as t(n bigint)) as a,
         (select n from dblink_get_result('kc_b') as t(n bigint)) as b;
select * from dblink_get_result('kc_a') as t(n bigint);
select * from dblink_get_result('kc_b') as t(n bigint);
select is((select a + b from kc_got), 1::bigint, 'two simultaneous claims take the one free slot once');
select results_eq(
  $$ select k, n from dblink('kc_c', $q$ select concurrency_key, count(*) from durable.workflows
                                          where queue = 'kc-q' and status = 'running' group by 1 order by 1 $q$)
       as t(k text, n bigint) $$,
  $$ values ('k1'::text, 1::bigint), ('k2', 1) $$,
  'one running per key');
select is((select n from dblink('kc_c', $$ select count(*) from durable.workflows
                                            where queue = 'kc-q' and claims > 0 $$) as t(n bigint)),
  3::bigint, '3 claimed in all: none twice');

select dblink_exec('kc_c', $$ delete from durable.workflows where queue = 'kc-q' $$);
select dblink_exec('kc_c', $$ delete from durable.run_slots where queue = 'kc-q' $$);
select dblink_exec('kc_c', $$ delete from durable.workers where id in ('kc-wa', 'kc-wb') $$);
select dblink_exec('kc_c', $$ delete from durable.queues where name = 'kc-q' $$);
select is(
  (select n from dblink('kc_c', $$ select (select count(*) from durable.queues where name = 'kc-q')
                                        + (select count(*) from durable.workers where id like 'kc-w%') $$)
     as t(n bigint)), 0::bigint,
  'the committed rows are cleaned up');

select dblink_disconnect('kc_a');
select dblink_disconnect('kc_b');
select dblink_disconnect('kc_c');

select * from finish();
rollback;
