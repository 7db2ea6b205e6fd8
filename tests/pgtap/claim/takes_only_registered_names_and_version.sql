-- A worker that registered (durable.register) claims only the workflow names it has code for,
-- and only workflows of its code version or of none yet; its first claim pins a workflow to
-- its version. Others stay pending without using an attempt. Regression: an old worker that
-- registered only alpha claimed beta during a rolling deploy and failed it for good.
begin;
select plan(8);
select durable_test.pin();

select durable.register('old', '[{"name": "alpha"}]', 'v1');
select durable.register('new', '[{"name": "alpha"}, {"name": "beta"}]', 'v2');
select durable.enqueue('beta', p_workflow_id => 'b1');
select durable.enqueue('alpha', p_workflow_id => 'a1');

select results_eq($$ select workflow_id from durable.claim('old', p_max => 10) $$,
  $$ values ('a1'::text) $$, 'the old worker takes alpha only');
select results_eq($$ select status, attempt, claims from durable.workflows where id = 'b1' $$,
  $$ values ('pending'::text, 1, 0) $$, 'beta stays pending, no attempt used');
select is((select version from durable.workflows where id = 'a1'), 'v1',
  'the claim pins alpha to the old worker''s version');

-- the old worker dies: its alpha is reclaimed only by a worker of v1
select durable_test.advance(interval '1 minute');
select results_eq($$ select workflow_id from durable.claim('new', p_max => 10) $$,
  $$ values ('b1'::text) $$, 'the new worker takes beta, not the v1 alpha of a dead worker');
select is((select status || '/' || owner from durable.workflows where id = 'a1'), 'running/old',
  'the v1 run waits for a v1 worker');
select durable.register('old-2', '[{"name": "alpha"}]', 'v1');
select results_eq($$ select workflow_id from durable.claim('old-2', p_max => 10) $$,
  $$ values ('a1'::text) $$, 'a worker of v1 recovers it');

-- a worker that never registered (psql) takes any name, of no version only
select durable.enqueue('gamma', p_workflow_id => 'g1');
select results_eq($$ select workflow_id from durable.claim('psql-worker', p_max => 10) $$,
  $$ values ('g1'::text) $$, 'an unregistered worker takes any unpinned workflow');
select is((select version from durable.workflows where id = 'g1'), null,
  'and pins nothing');

select * from finish();
rollback;
