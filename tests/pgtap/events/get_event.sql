-- durable.get_event from clients: the latest value of a key with when it was set, or
-- found = false with nulls when it was never set; DU003 for an unknown workflow. It works on
-- finished workflows too.
begin;
\ir ../waiting_fixtures.sql
select plan(5);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'ge');
select durable_test.lease_of('ge') as lease \gset
select results_eq($$ select found, value, set_at from durable.get_event('ge', 'k') $$,
  $$ values (false, null::jsonb, null::timestamptz) $$, 'never set: found false, nulls');
select durable.set_event('ge', :lease, 0, 'k', '"v1"');
select durable_test.advance(interval '1 minute');
select durable.set_event('ge', :lease, 1, 'k', '"v2"');
select durable.set_event('ge', :lease, 2, 'j', '"w"');
select results_eq($$ select found, value, set_at from durable.get_event('ge', 'k') $$,
  $$ values (true, '"v2"'::jsonb, durable_test.t0() + interval '1 minute') $$,
  'the latest value of the key, with when it was set');
select durable.complete('ge', :lease, 'null');
select results_eq($$ select found, value from durable.get_event('ge', 'j') $$,
  $$ values (true, '"w"'::jsonb) $$, 'a finished workflow''s events are still there');
select throws_ok($$ select * from durable.get_event('nobody', 'k') $$, 'DU003', null,
  'an unknown workflow raises DU003');
select ok(durable_test.sqlstate($$ select * from durable.get_event('ge', null) $$) in ('DU010', 'ok'),
  'a null key is refused with DU010 (or finds nothing)');

select * from finish();
rollback;
