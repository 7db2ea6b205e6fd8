-- durable.await_event inside a workflow: an event already set is taken at once (its latest
-- value and id, recorded as the step); otherwise the run parks (waiting, owner, login and lease
-- cleared, run_at the deadline or infinity) and a set_event of that key by the target makes it
-- pending in the same transaction (another key, or the same key of another workflow, does
-- not). Reached again, it records the value. With a timeout, {"timed_out": true} at the
-- deadline, which is fixed the first time the run reaches the wait.
begin;
\ir ../waiting_fixtures.sql
select plan(16);
select durable_test.pin();

-- (the target and the other run on a queue of their own: the claims below take only the waiter)
select durable.set_queue('ae_side');
select * from durable_test.start(p_workflow_id => 'ae-target', p_queue => 'ae_side');
select durable_test.lease_of('ae-target') as tl \gset
select * from durable_test.start(p_workflow_id => 'ae-other', p_queue => 'ae_side');
select * from durable_test.start(p_workflow_id => 'ae-waiter');
select durable_test.lease_of('ae-waiter') as wl \gset

-- satisfied at once: the latest value
select durable.set_event('ae-target', :tl, 0, 'ready', '1');
select durable.set_event('ae-target', :tl, 1, 'ready', '2') as ev1 \gset
select results_eq(format($$ select parked, output from durable.await_event('ae-waiter', %s, 0, 'ae-target', 'ready') $$, :wl),
  format($$ values (false, jsonb_build_object('value', 2, 'event_id', %s)) $$, :'ev1'::jsonb -> 'event_id'),
  'an event already set is taken at once: its latest value and id');
select results_eq($$ select name, output -> 'value' from durable.steps where workflow_id = 'ae-waiter' $$,
  $$ values ('durable.get_event'::text, '2'::jsonb) $$, 'recorded as the step');
select is(durable_test.parked('ae-waiter'),
  format('running owner=worker-a login=%s lease=%s run_at=2030-01-01 00:00:00', session_user, :wl),
  'the run goes on under its lease');

-- not set yet: parks
select results_eq(format($$ select parked from durable.await_event('ae-waiter', %s, 1, 'ae-target', 'done') $$, :wl),
  $$ values (true) $$, 'an event not set yet parks the run');
select is(durable_test.parked('ae-waiter'),
  'waiting owner=<null> login=<null> lease=<null> run_at=infinity',
  'waiting without owner, login or lease; run_at infinity (no timeout)');
select results_eq($$ select name, kind, topic, target, deadline from durable.waits where workflow_id = 'ae-waiter' and step_id = 1 $$,
  $$ values ('durable.get_event'::text, 'event'::text, 'done'::text, 'ae-target'::text, null::timestamptz) $$,
  'the wait: event done of ae-target');

select durable_test.advance(interval '1 minute');
select durable.set_event('ae-target', :tl, 2, 'not-done', '0');
select durable.set_event('ae-other', durable_test.lease_of('ae-other'), 0, 'done', '0');
select is((select status from durable.workflows where id = 'ae-waiter'), 'waiting',
  'another key, or the key of another workflow, leaves it waiting');
select durable.set_event('ae-target', :tl, 3, 'done', '{"ok": true}') as ev3 \gset
select is(durable_test.parked('ae-waiter'),
  'pending owner=<null> login=<null> lease=<null> run_at=2030-01-01 00:01:00',
  'the target''s set_event of that key makes it pending, runnable now');
select is((select woken_at from durable.waits where workflow_id = 'ae-waiter' and step_id = 1),
  durable_test.t0() + interval '1 minute', 'the wait says when it was woken');
select durable_test.claim_id('ae-waiter', 'worker-b') as wl2 \gset
select results_eq(format($$ select parked, output from durable.await_event('ae-waiter', %s, 1, 'ae-target', 'done') $$, :wl2),
  format($$ values (false, jsonb_build_object('value', '{"ok": true}'::jsonb, 'event_id', %s)) $$, :'ev3'::jsonb -> 'event_id'),
  'reached again, it returns the value and its id');
select results_eq($$ select resolved_at, outcome from durable.waits where workflow_id = 'ae-waiter' and step_id = 1 $$,
  $$ values (durable_test.t0() + interval '1 minute', 'ready'::text) $$, 'the wait is resolved, ready');

-- with a timeout: parks until the deadline, fixed on first reach
select results_eq(format($$ select parked from durable.await_event('ae-waiter', %s, 2, 'ae-target', 'never', interval '1 hour') $$, :wl2),
  $$ values (true) $$, 'a wait with a timeout parks');
select is(durable_test.parked('ae-waiter'),
  'waiting owner=<null> login=<null> lease=<null> run_at=2030-01-01 01:01:00',
  'run_at is the deadline');
select durable_test.advance(interval '30 minutes');
select durable.cancel('ae-waiter');
select durable.retry('ae-waiter');
select durable_test.claim_id('ae-waiter', 'worker-b') as wl3 \gset
select results_eq(format($$ select parked from durable.await_event('ae-waiter', %s, 2, 'ae-target', 'never', interval '1 hour') $$, :wl3),
  $$ values (true) $$, 'reached again before the deadline it parks again');
select is(durable_test.parked('ae-waiter'),
  'waiting owner=<null> login=<null> lease=<null> run_at=2030-01-01 01:01:00',
  'with the first deadline');
select durable_test.advance(interval '30 minutes');
select durable_test.claim_id('ae-waiter', 'worker-b') as wl4 \gset
select results_eq(format($$ select parked, output from durable.await_event('ae-waiter', %s, 2, 'ae-target', 'never', interval '1 hour') $$, :wl4),
  $$ values (false, '{"timed_out": true}'::jsonb) $$, 'at the deadline it records that it timed out');

select * from finish();
rollback;
