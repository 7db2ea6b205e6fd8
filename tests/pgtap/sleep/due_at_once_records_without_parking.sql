-- A sleep that is already due (a zero or negative duration, a time that has passed) records its
-- outcome in the same call and the run goes on (one round trip): still running under its lease.
-- A sleep until a future time parks with run_at that time.
begin;
\ir ../waiting_fixtures.sql
select plan(8);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'sd');
select durable_test.lease_of('sd') as lease \gset

select results_eq(
  format($$ select parked, (output ->> 'slept_until')::timestamptz <= durable.now()
              from durable.sleep('sd', %s, 0, interval '0') $$, :lease),
  $$ values (false, true) $$, 'a sleep of zero is due: not parked, slept until now');
select results_eq(
  format($$ select parked, (output ->> 'slept_until')::timestamptz <= durable.now()
              from durable.sleep('sd', %s, 1, interval '-5 minutes') $$, :lease),
  $$ values (false, true) $$, 'a negative duration is due at once');
select results_eq(
  format($$ select parked, (output ->> 'slept_until')::timestamptz
              from durable.sleep('sd', %s, 2, p_until => durable_test.t0() - interval '1 day') $$, :lease),
  $$ values (false, durable_test.t0() - interval '1 day') $$,
  'a time that has passed is due at once: slept until that time');
select results_eq(
  $$ select step_id, name from durable.steps where workflow_id = 'sd' order by step_id $$,
  $$ values (0, 'durable.sleep'::text), (1, 'durable.sleep'), (2, 'durable.sleep') $$,
  'each is recorded as its step');
select is(durable_test.parked('sd'),
  format('running owner=worker-a login=%s lease=%s run_at=2030-01-01 00:00:00', session_user, :lease),
  'the run is still running under its lease');

select results_eq(
  format($$ select parked from durable.sleep('sd', %s, 3, p_until => durable_test.t0() + interval '1 day',
                                               p_name => 'nap') $$, :lease),
  $$ values (true) $$, 'a sleep until tomorrow parks');
select is(durable_test.parked('sd'),
  'waiting owner=<null> login=<null> lease=<null> run_at=2030-01-02 00:00:00',
  'run_at is the time given');
select results_eq($$ select name, kind, deadline from durable.waits where workflow_id = 'sd' and step_id = 3 $$,
  $$ values ('nap'::text, 'sleep'::text, durable_test.t0() + interval '1 day') $$,
  'the wait has the name given');

select * from finish();
rollback;
