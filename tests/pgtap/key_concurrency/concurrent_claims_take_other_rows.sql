-- Two claims of a per-key limited queue at the same time take different runs: the per-key walk
-- locks the rows it takes (skip locked), so B passes over the rows A holds (uncommitted) and
-- takes the next ones instead of nothing. (With a walk that locked nothing, both picked the same
-- first rows and B, finding them locked, took none.) What the sessions commit is deleted at the
-- end.
begin;
select plan(4);

select dblink_connect('kt_a', durable_test.connstr());
select dblink_connect('kt_b', durable_test.connstr());
select dblink_connect('kt_c', durable_test.connstr());
select durable_test.remote('kt_c', $$ select durable.set_queue('kt-q', p_key_concurrency => 5) $$);
select durable_test.remote('kt_c', $$
  select durable.enqueue('wf', p_queue => 'kt-q', p_workflow_id => 'kt-' || i,
                         p_concurrency_key => 'k' || (i % 2))
    from generate_series(1, 4) i $$);
select dblink_exec('kt_b', $$ set lock_timeout = '1s' $$);

select dblink_exec('kt_a', 'begin');
select is((select n from dblink('kt_a', $$ select count(*) from durable.claim('kt-wa', array['kt-q'], 2, interval '1 hour') $$)
             as t(n bigint)), 2::bigint, 'A claims 2 (not committed)');
select is((select n from dblink('kt_b', $$ select count(*) from durable.claim('kt-wb', array['kt-q'], 2, interval '1 hour') $$)
             as t(n bigint)), 2::bigint, 'B takes the other 2 at once');
select dblink_exec('kt_a', 'commit');
select is((select n from dblink('kt_c', $$ select count(distinct owner) * 10 + count(*) from durable.workflows
                                            where queue = 'kt-q' and status = 'running' $$) as t(n bigint)),
  24::bigint, '4 running, 2 owners');

select dblink_exec('kt_c', $$ delete from durable.workflows where queue = 'kt-q' $$);
select dblink_exec('kt_c', $$ delete from durable.run_slots where queue = 'kt-q' $$);
select dblink_exec('kt_c', $$ delete from durable.workers where id in ('kt-wa', 'kt-wb') $$);
select dblink_exec('kt_c', $$ delete from durable.queues where name = 'kt-q' $$);
select is(
  (select n from dblink('kt_c', $$ select (select count(*) from durable.queues where name = 'kt-q')
                                        + (select count(*) from durable.workers where id like 'kt-w%') $$)
     as t(n bigint)), 0::bigint,
  'the committed rows are cleaned up');

select dblink_disconnect('kt_a');
select dblink_disconnect('kt_b');
select dblink_disconnect('kt_c');
select * from finish();
rollback;
