-- durable.housekeep deletes at most durable.settings.purge_batch workflows per call, succeeded
-- ones first, and says more = true when it found a full batch.
begin;
select plan(6);
select durable_test.pin();
update durable.settings set retain_succeeded = interval '1 day', retain_failed = interval '1 day',
                            purge_batch = 2;
select durable_test.make('hb-s' || i, 'succeeded') from generate_series(1, 3) i;
select durable_test.make('hb-f' || i, 'failed') from generate_series(1, 2) i;
select durable_test.make('hb-c1', 'cancelled');
select durable_test.advance(interval '2 days');

select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (2::bigint, true) $$,
  'a full batch of succeeded ones: more');
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (2::bigint, true) $$,
  'the last succeeded one and a failed or cancelled one: a full batch, more');
select is((select count(*)::int from durable.workflows where id like 'hb-s%'), 0,
  'the succeeded ones went first');
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (2::bigint, true) $$,
  'two more');
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (0::bigint, false) $$,
  'then none: more = false');
select is((select count(*)::int from durable.workflows where id like 'hb-%'), 0, 'all six are gone');

select * from finish();
rollback;
