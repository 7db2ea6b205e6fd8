-- durable.start_child: starting a workflow from inside a workflow is a step whose outcome is the
-- child's id, {"workflow_id": ...}: by default the parent's id, '-' and the step position (or
-- 'child-' || md5(parent id) || '-' || position when that is over 200 characters), else the
-- id given. The child records its parent (and whether it is detached) and takes enqueue's
-- options and defaults. Called again at its position (a replay) it returns the same child and
-- starts no other. Its deadline is the earlier of the parent's and now + p_timeout.
begin;
\ir ../waiting_fixtures.sql
select plan(16);
select durable_test.pin();
select durable.set_queue('sc_parents');
select durable.set_queue('sc_kids');

-- a parent whose default child id would be over 200 characters
select * from durable_test.start(p_workflow_id => repeat('p', 199), p_queue => 'sc_parents');
select is(durable.start_child(repeat('p', 199), durable_test.lease_of(repeat('p', 199)), 12, 'kid', p_queue => 'default'),
  jsonb_build_object('workflow_id', 'child-' || md5(repeat('p', 199)) || '-12'),
  'over 200 characters, the default id is child-<md5 of the parent id>-<position>');

-- a parent with a deadline (enqueued with a timeout of an hour)
select durable.enqueue('parent', p_queue => 'sc_parents', p_workflow_id => 'pa', p_timeout => interval '1 hour');
select durable_test.claim_id('pa', 'worker-a', 'sc_parents') as lease \gset
select durable_test.advance(interval '10 minutes');

select is(durable.start_child('pa', :lease, 2, 'kid', '{"x": 1}', p_queue => 'default'), '{"workflow_id": "pa-2"}'::jsonb,
  'the default child id is the parent id, - and the position');
select results_eq(
  $$ select name, input, queue, status, priority, run_at, parent_id, detached, deadline, attempt
       from durable.workflows where id = 'pa-2' $$,
  $$ values ('kid'::text, '{"x": 1}'::jsonb, 'default'::text, 'pending'::text, 0,
             durable_test.t0() + interval '10 minutes', 'pa'::text, false,
             durable_test.t0() + interval '1 hour', 1) $$,
  'the child is pending now, with its input, enqueue''s defaults, its parent and the parent''s deadline');
select results_eq($$ select step_id, name, output from durable.steps where workflow_id = 'pa' $$,
  $$ values (2, 'durable.start_child'::text, '{"workflow_id": "pa-2"}'::jsonb) $$,
  'recorded as the parent''s step');

select durable_test.advance(interval '1 minute');
select is(durable.start_child('pa', :lease, 2, 'kid', '{"x": 2}', p_queue => 'default'), '{"workflow_id": "pa-2"}'::jsonb,
  'called again at its position it returns the same child');
select results_eq($$ select count(*)::int, min(input::text) from durable.workflows where parent_id = 'pa' $$,
  $$ values (1, '{"x": 1}'::text) $$, 'and starts no other');

select is(durable.start_child('pa', :lease, 3, 'kid', p_child_id => 'my-kid', p_queue => 'sc_kids',
                              p_priority => 5, p_timeout => interval '10 minutes', p_detached => true,
                              p_step_name => 'spawn'),
  '{"workflow_id": "my-kid"}'::jsonb, 'an id given is the child''s id');
select results_eq($$ select queue, priority, parent_id, detached, deadline from durable.workflows where id = 'my-kid' $$,
  $$ values ('sc_kids'::text, 5, 'pa'::text, true, durable_test.t0() + interval '21 minutes') $$,
  'with the queue, priority and detachment given; a deadline now + timeout, before the parent''s');
select is((select name from durable.steps where workflow_id = 'pa' and step_id = 3), 'spawn',
  'the step has the name given');
select is(durable.start_child('pa', :lease, 4, 'kid', p_timeout => interval '2 hours', p_queue => 'default'),
  '{"workflow_id": "pa-4"}'::jsonb, 'a child with a timeout past the parent''s deadline');
select is((select deadline from durable.workflows where id = 'pa-4'), durable_test.t0() + interval '1 hour',
  'keeps the parent''s deadline');

-- a parent without a deadline
select * from durable_test.start(p_workflow_id => 'pb', p_queue => 'sc_parents');
select durable_test.lease_of('pb') as lease_b \gset
select durable.start_child('pb', :lease_b, 0, 'kid', p_queue => 'default');
select durable.start_child('pb', :lease_b, 1, 'kid', p_timeout => interval '5 minutes', p_queue => 'default');
select results_eq($$ select id, deadline from durable.workflows where parent_id = 'pb' order by id $$,
  $$ values ('pb-0'::text, null::timestamptz), ('pb-1', durable_test.t0() + interval '16 minutes') $$,
  'without a parent deadline: none, or now + its timeout');

-- DU016: the id given belongs to a workflow that is not this one's child
select durable.enqueue('kid', p_queue => 'sc_kids', p_workflow_id => 'stranger');
select throws_ok(format($$ select durable.start_child('pa', %s, 5, 'kid', p_child_id => 'stranger', p_queue => 'default') $$, :lease),
  'DU016', null, 'an id taken by an unrelated workflow raises DU016');
select throws_ok(format($$ select durable.start_child('pa', %s, 5, 'kid', p_child_id => 'pb-0', p_queue => 'default') $$, :lease),
  'DU016', null, 'an id taken by another workflow''s child raises DU016');
select throws_ok(format($$ select durable.start_child('pa', %s, 5, 'kid', p_child_id => 'pa', p_queue => 'default') $$, :lease),
  'DU016', null, 'the parent''s own id raises DU016');
select results_eq($$ select count(*)::int from durable.steps where workflow_id = 'pa' and step_id = 5 $$,
  $$ values (0) $$, 'the refused calls recorded nothing');

select * from finish();
rollback;
