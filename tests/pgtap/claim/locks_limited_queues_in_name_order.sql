-- claim locks the rows of the limited queues it serves in name order, whatever order it serves
-- them in, so that two claims listing the same queues in other orders cannot deadlock. Session B
-- claims from ['lq-b', 'lq-a'] while session A holds 'lq-a': B waits for 'lq-a' holding nothing
-- yet, so session C can lock 'lq-b'. What the sessions commit is deleted at the end.
begin;
select plan(4);

select dblink_connect('lq_a', durable_test.connstr());
select dblink_connect('lq_b', durable_test.connstr());
select dblink_connect('lq_c', durable_test.connstr());
select durable_test.remote('lq_a', $$ select durable.set_queue('lq-a', 1) $$);
select durable_test.remote('lq_a', $$ select durable.set_queue('lq-b', 1) $$);

select dblink_exec('lq_a', 'begin');
select * from dblink('lq_a', $$ select name from durable.queues where name = 'lq-a'
                                 for no key update $$) as t(name text);
select dblink_send_query('lq_b', $$ select count(*) from durable.claim('lq-worker', array['lq-b', 'lq-a']) $$);
select pg_sleep(0.3);
select is(dblink_is_busy('lq_b'), 1, 'B''s claim waits for the queue A holds');
select results_eq(
  $$ select durable_test.remote_rows('lq_c', $q$ select name from durable.queues where name = 'lq-b'
                                                 for no key update nowait $q$) $$,
  $$ values ('lq-b'::text) $$,
  'meanwhile lq-b, first in B''s list but second by name, is not locked by B');
select dblink_exec('lq_a', 'rollback');
select is((select n from dblink_get_result('lq_b') as t(n bigint)), 0::bigint,
  'once A lets go, B''s claim ends (nothing to claim)');
select * from dblink_get_result('lq_b') as t(n bigint);

select dblink_exec('lq_c', $$ delete from durable.workers where id = 'lq-worker' $$);
select dblink_exec('lq_c', $$ delete from durable.queues where name in ('lq-a', 'lq-b') $$);
select is(
  (select n from dblink('lq_c', $$ select (select count(*) from durable.queues where name like 'lq-%')
                                        + (select count(*) from durable.workers where id = 'lq-worker') $$)
     as t(n bigint)), 0::bigint,
  'the committed rows are cleaned up');

select dblink_disconnect('lq_a');
select dblink_disconnect('lq_b');
select dblink_disconnect('lq_c');

select * from finish();
rollback;
