-- The bulk operations refuse, before changing anything: no filter at all (DU010: matching
-- everything must be asked for), a null limit (DU010), a limit outside 1..10000, a status the
-- operation does not apply to, an empty status array or one with a null, an empty time range
-- (DU011), an unknown queue (DU004).
begin;
select plan(22);
select durable_test.make('rf-p', 'pending');
select durable_test.make('rf-f', 'failed');
select durable_test.make('rf-s', 'succeeded');

select throws_ok($$ select * from durable.cancel_where() $$, 'DU010', null, 'cancel_where with no filter: DU010');
select throws_ok($$ select * from durable.retry_where() $$, 'DU010', null, 'retry_where with no filter: DU010');
select throws_ok($$ select * from durable.purge_where() $$, 'DU010', null, 'purge_where with no filter: DU010');
select throws_ok($$ select * from durable.purge_where(p_dry_run => true) $$, 'DU010', null, 'a dry run too');
select throws_ok($$ select * from durable.cancel_where(p_queue => 'default', p_limit => null) $$, 'DU010', null,
  'a null limit: DU010');
select throws_ok($$ select * from durable.cancel_where(p_queue => 'default', p_limit => 0) $$, 'DU011', null,
  'cancel_where limit 0: DU011');
select throws_ok($$ select * from durable.retry_where(p_queue => 'default', p_limit => 10001) $$, 'DU011', null,
  'retry_where limit 10001: DU011');
select throws_ok($$ select * from durable.purge_where(p_queue => 'default', p_limit => -1) $$, 'DU011', null,
  'purge_where limit -1: DU011');
select throws_ok($$ select * from durable.cancel_where(p_status => '{succeeded}') $$, 'DU011', null,
  'cancel_where of succeeded ones: DU011');
select throws_ok($$ select * from durable.retry_where(p_status => '{pending}') $$, 'DU011', null,
  'retry_where of pending ones: DU011');
select throws_ok($$ select * from durable.retry_where(p_status => '{succeeded}') $$, 'DU011', null,
  'retry_where of succeeded ones: DU011');
select throws_ok($$ select * from durable.purge_where(p_status => '{running}') $$, 'DU011', null,
  'purge_where of running ones: DU011');
select throws_ok($$ select * from durable.purge_where(p_status => '{}') $$, 'DU011', null,
  'an empty status array: DU011');
select throws_ok($$ select * from durable.cancel_where(p_status => array['pending', null]) $$, 'DU011', null,
  'a null status: DU011');
select throws_ok($$ select * from durable.cancel_where(p_status => '{Pending}') $$, 'DU011', null,
  'an unknown status: DU011');
select throws_ok($$ select * from durable.cancel_where(p_created_after => '2030-01-02', p_created_before => '2030-01-01') $$,
  'DU011', null, 'created_after after created_before: DU011');
select throws_ok($$ select * from durable.purge_where(p_finished_after => '2030-01-01', p_finished_before => '2030-01-01') $$,
  'DU011', null, 'an empty finished_at range: DU011');
select throws_ok($$ select * from durable.cancel_where(p_queue => 'rf-nope') $$, 'DU004', null,
  'cancel_where of an unknown queue: DU004');
select throws_ok($$ select * from durable.retry_where(p_queue => 'rf-nope') $$, 'DU004', null,
  'retry_where of an unknown queue: DU004');
select throws_ok($$ select * from durable.purge_where(p_queue => 'rf-nope') $$, 'DU004', null,
  'purge_where of an unknown queue: DU004');
select results_eq($$ select status from durable.workflows where id like 'rf-%' order by id $$,
  $$ values ('failed'::text), ('pending'), ('succeeded') $$, 'nothing was changed');
select results_eq($$ select * from durable.cancel_where(p_status => '{pending,running,waiting}', p_dry_run => true) $$,
  $$ values (1::bigint, false) $$, 'every status, explicitly: accepted');

select * from finish();
rollback;
