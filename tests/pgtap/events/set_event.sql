-- durable.set_event: a step that publishes a value under a key. It records {"event_id": n} at
-- its position and the event (with that step); called again at that position it returns the
-- recorded id and publishes nothing. Every value is kept; the latest per key counts
-- (durable.get_event). Refusals: DU010 a null or empty key, and the lease refusals of a step
-- (DU001, DU002, DU003, DU005, DU015), nothing written then.
begin;
\ir ../waiting_fixtures.sql
select plan(17);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'se');
select durable_test.lease_of('se') as lease \gset

select durable.set_event('se', :lease, 0, 'status', '"started"') as ev0 \gset
select is((:'ev0'::jsonb ->> 'event_id')::bigint, (select max(id) from durable.events),
  'set_event returns {"event_id": n}');
select results_eq($$ select workflow_id, key, value, step_id, created_at from durable.events $$,
  $$ values ('se'::text, 'status'::text, '"started"'::jsonb, 0, durable_test.t0()) $$,
  'the event is written with its step');
select results_eq($$ select step_id, name, output from durable.steps where workflow_id = 'se' $$,
  format($$ values (0, 'durable.set_event'::text, %L::jsonb) $$, :'ev0'), 'and recorded as the step');
select is(durable.set_event('se', :lease, 0, 'status', '"other"'), :'ev0'::jsonb,
  'called again at its position it returns the recorded id');
select is((select count(*)::int from durable.events), 1, 'and publishes nothing more');
select results_eq($$ select found, value, set_at from durable.get_event('se', 'status') $$,
  $$ values (true, '"started"'::jsonb, durable_test.t0()) $$, 'get_event returns it');

select durable_test.advance(interval '1 minute');
select durable.set_event('se', :lease, 1, 'status', '{"done": 1}', p_name => 'publish');
select results_eq($$ select found, value, set_at from durable.get_event('se', 'status') $$,
  $$ values (true, '{"done": 1}'::jsonb, durable_test.t0() + interval '1 minute') $$,
  'a later value of the key is the latest');
select results_eq($$ select key, value from durable.events order by id $$,
  $$ values ('status'::text, '"started"'::jsonb), ('status', '{"done": 1}') $$, 'the history is kept');
select is((select name from durable.steps where workflow_id = 'se' and step_id = 1), 'publish',
  'the step has the name given');

select throws_ok(format($$ select durable.set_event('se', %s, 2, null, '1') $$, :lease),
  'DU010', null, 'a null key raises DU010');
select ok(durable_test.sqlstate(format($$ select durable.set_event('se', %s, 2, '', '1') $$, :lease)) in ('DU010', 'DU011'),
  'an empty key is refused (DU010 or DU011)');
select throws_ok(format($$ select durable.set_event('se', %s, 2, 'k', '1') $$, :lease + 1000),
  'DU001', null, 'a lease that is not current raises DU001');
select throws_ok($$ select durable.set_event('nobody', 1, 2, 'k', '1') $$,
  'DU003', null, 'an unknown workflow raises DU003');
select throws_ok(format($$ select durable.set_event('se', %s, 1, 'k', '1') $$, :lease),
  'DU005', null, 'another step at that position raises DU005');
create role durable_test_event_other login;
grant durable_worker to durable_test_event_other;
-- (a pinned clock is for superusers only: unpinned while another login calls)
select durable.now() as pinned \gset
select durable_test.unpin();
set local session authorization durable_test_event_other;
select throws_ok(format($$ select durable.set_event('se', %s, 2, 'k', '1') $$, :lease),
  'DU015', null, 'another login cannot set_event with this worker''s lease');
reset session authorization;
select durable_test.pin(:'pinned');
select durable.cancel('se');
select throws_ok(format($$ select durable.set_event('se', %s, 2, 'k', '1') $$, :lease),
  'DU002', null, 'a cancelled workflow raises DU002');
select is((select count(*)::int from durable.events), 2, 'the refused calls published nothing');

select * from finish();
rollback;
