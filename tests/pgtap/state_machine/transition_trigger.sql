-- The transition trigger allows exactly the edges durable.transition_allowed lists, and those
-- are the edges of the design; every other status change raises DU007, also for the owner.
begin;
select plan(8);

select trigger_is('durable', 'workflows', 'workflows_transition', 'durable', 'check_transition',
  'workflows_transition calls durable.check_transition');

create temp table statuses (s text);
insert into statuses values ('pending'), ('running'), ('waiting'), ('succeeded'), ('failed'), ('cancelled');
create temp table edges (f text, t text);
insert into edges values
  ('pending', 'running'), ('pending', 'cancelled'),
  ('running', 'pending'), ('running', 'waiting'), ('running', 'succeeded'), ('running', 'failed'),
  ('running', 'cancelled'),
  ('waiting', 'running'), ('waiting', 'pending'), ('waiting', 'cancelled'),
  ('failed', 'pending'), ('cancelled', 'pending');

select set_eq(
  $$ select a.s as f, b.s as t from statuses a, statuses b where durable.transition_allowed(a.s, b.s) $$,
  $$ select f, t from edges $$,
  'transition_allowed lists exactly the design''s twelve edges');

create temp table tried as
select a.s as f, b.s as t, durable_test.try_transition(a.s, b.s) as outcome
  from statuses a, statuses b where a.s <> b.s;

select set_eq($$ select f, t from tried where outcome = 'ok' $$, $$ select f, t from edges $$,
  'every listed edge can be taken by an update');
select is_empty($$ select f, t, outcome from tried where outcome not in ('ok', 'DU007') $$,
  'every other change fails with DU007 only');
select is((select count(*)::int from tried where outcome = 'DU007'), 18,
  'the 18 changes not listed are refused');

select durable_test.make('s', 'succeeded');
select throws_ok(
  $$ update durable.workflows set status = 'pending', output = null, finished_at = null where id = 's' $$,
  'DU007', 'workflow s cannot go from succeeded to pending', 'succeeded -> pending raises DU007');

-- not a transition: a reclaim keeps status running and changes owner and lease
select durable_test.make('r', 'running');
select lives_ok($$ update durable.workflows set owner = 'other', lease = lease + 1 where id = 'r' $$,
  'running -> running (a reclaim) is not refused');
select is(durable_test.try_transition('pending', 'pending'), 'ok', 'an update that keeps the status passes');

select * from finish();
rollback;
