-- One session housekeeps at a time: while another session's housekeep transaction is open,
-- durable.housekeep returns (0, false) at once and deletes nothing; after it ends, the work is
-- done. (Two real sessions, dblink; nothing is committed.)
begin;
select plan(4);
select durable_test.pin();
update durable.settings set retain_succeeded = interval '1 day';
select durable_test.make('ho-' || i, 'succeeded') from generate_series(1, 3) i;
select durable_test.advance(interval '2 days');

select dblink_connect('ho_a', durable_test.connstr());
select dblink_exec('ho_a', 'begin');
select is((select purged from dblink('ho_a', $$ select purged from durable.housekeep('ho-remote') $$)
             as t(purged bigint)), 0::bigint,
  'the other session housekeeps (nothing due in what it sees) and keeps its transaction open');
set local lock_timeout = '5s';
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (0::bigint, false) $$,
  'meanwhile this one is not elected: (0, false) at once');
select is((select count(*)::int from durable.workflows where id like 'ho-%'), 3, 'nothing was deleted');
select dblink_exec('ho_a', 'rollback');
select dblink_disconnect('ho_a');
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (3::bigint, false) $$,
  'once it ended, this session does the work');

select * from finish();
rollback;
