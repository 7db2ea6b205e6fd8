-- durable.start_children: a fan-out in one step. Its outcome is {"workflow_ids": [...]} in the
-- order given; ids default to <parent>-<step>-<n>; a replay starts nothing more; a child whose
-- queue is neither given nor registered goes to its parent's queue (as with start_child: a
-- worker serving only the parent's queue would never run children sent to 'default'); bad
-- lists are refused whole (DU012, DU011, DU016) and write nothing.
begin;
\ir ../waiting_fixtures.sql
select plan(11);
select durable_test.pin();
select durable.set_queue('scn_parents');
select durable.set_queue('scn_other');

select * from durable_test.start(p_workflow_id => 'fan', p_queue => 'scn_parents');
select durable_test.lease_of('fan') as lease \gset

select is(durable.start_children('fan', :lease, 0,
            '[{"name": "kid", "input": 1}, {"name": "kid"}, {"name": "kid", "workflow_id": "own", "queue": "scn_other", "detached": true}]'),
  '{"workflow_ids": ["fan-0-1", "fan-0-2", "own"]}'::jsonb,
  'the outcome lists the children in the order given, default ids <parent>-<step>-<n>');
select results_eq(
  $$ select id, input, queue, parent_id, detached, status from durable.workflows
      where parent_id = 'fan' order by seq $$,
  $$ values ('fan-0-1'::text, '1'::jsonb, 'scn_parents'::text, 'fan'::text, false, 'pending'::text),
            ('fan-0-2', 'null', 'scn_parents', 'fan', false, 'pending'),
            ('own', 'null', 'scn_other', 'fan', true, 'pending') $$,
  'children record their parent; no queue: the parent''s; claimed in the order given (seq)');
select is((select output from durable.steps where workflow_id = 'fan' and step_id = 0),
  '{"workflow_ids": ["fan-0-1", "fan-0-2", "own"]}'::jsonb, 'the step is recorded');

select is(durable.start_children('fan', :lease, 0, '[{"name": "kid"}]'),
  '{"workflow_ids": ["fan-0-1", "fan-0-2", "own"]}'::jsonb,
  'called again at its position (a replay): the recorded outcome');
select is((select count(*)::int from durable.workflows where parent_id = 'fan'), 3,
  'and no other child');

select is(durable.start_child('fan', :lease, 1, 'kid')->>'workflow_id', 'fan-1',
  'start_child without a queue ...');
select is((select queue from durable.workflows where id = 'fan-1'), 'scn_parents',
  '... puts the child in its parent''s queue too');

select throws_ok(format($$ select durable.start_children('fan', %s, 2, '[{"input": 1}]') $$, :lease),
  'DU012', null, 'a child without a name is refused (DU012)');
select throws_ok(format($$ select durable.start_children('fan', %s, 2, '[{"name": "kid", "workflow_id": "x"}, {"name": "kid", "workflow_id": "x"}]') $$, :lease),
  'DU011', null, 'an id twice is refused (DU011)');
select throws_ok(format($$ select durable.start_children('fan', %s, 2, '[{"name": "kid"}, {"name": "kid", "workflow_id": "fan"}]') $$, :lease),
  'DU016', null, 'an id taken by a workflow that is not its child is refused (DU016)');
select is((select count(*)::int from durable.workflows where parent_id = 'fan'), 4,
  'refused lists wrote nothing');

select * from finish();
rollback;
