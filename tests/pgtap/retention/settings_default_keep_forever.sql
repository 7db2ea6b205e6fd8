-- durable.settings.retain_succeeded and retain_failed are null by default (kept forever):
-- housekeep deletes nothing, however old; purge_batch is 1000. Out-of-range values are refused
-- by the table's constraints (check_violation).
begin;
select plan(9);
select durable_test.pin();

select results_eq($$ select retain_succeeded, retain_failed, purge_batch from durable.settings $$,
  $$ values (null::interval, null::interval, 1000) $$, 'defaults: keep forever, batches of 1000');
select durable_test.make('ks-s', 'succeeded');
select durable_test.make('ks-f', 'failed');
select durable_test.advance(interval '100 years');
select results_eq($$ select * from durable.housekeep('w1') $$, $$ values (0::bigint, false) $$,
  'housekeep with no retention set: nothing purged');
select is((select count(*)::int from durable.workflows where id like 'ks-%'), 2, 'both are kept');

select throws_ok($$ update durable.settings set retain_succeeded = interval '0' $$, '23514', null,
  'retain_succeeded 0 is refused');
select throws_ok($$ update durable.settings set retain_failed = interval '-1 day' $$, '23514', null,
  'a negative retain_failed is refused');
select throws_ok($$ update durable.settings set retain_succeeded = interval '101 years' $$, '23514', null,
  'over 100 years is refused');
select throws_ok($$ update durable.settings set purge_batch = 0 $$, '23514', null, 'purge_batch 0 is refused');
select throws_ok($$ update durable.settings set purge_batch = 10001 $$, '23514', null,
  'purge_batch over 10000 is refused');
select lives_ok($$ update durable.settings set retain_succeeded = interval '1 second',
                                              retain_failed = interval '100 years', purge_batch = 10000 $$,
  'the bounds are accepted');

select * from finish();
rollback;
