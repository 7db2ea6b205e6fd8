-- JSON nested deeper than 128 levels is refused with DU011 wherever a payload comes in (enqueue
-- and enqueue_batch inputs, step outputs and errors, workflow outputs and errors), before
-- anything is written; 128 levels, strings full of brackets and wide values are accepted.
-- Regression: enqueue('noop', 5000 nested arrays) was accepted, and every Python worker that
-- claimed it died with RecursionError.
begin;
select plan(9);
select durable_test.pin();

select throws_ok(
  $$ select * from durable.enqueue('noop', (repeat('[', 5000) || repeat(']', 5000))::jsonb) $$,
  'DU011', 'input nests deeper than 128 levels of arrays and objects',
  'the reported input (5000 nested arrays) raises DU011');
select throws_ok(
  $$ select * from durable.enqueue('noop', (repeat('{"a":', 129) || '1' || repeat('}', 129))::jsonb) $$,
  'DU011', null, '129 nested objects raise DU011');
select throws_ok(
  $$ select * from durable.enqueue_batch(jsonb_build_array(jsonb_build_object('name', 'noop',
       'input', (repeat('[', 200) || repeat(']', 200))::jsonb))) $$,
  'DU011', null, 'a batch item too deep raises DU011');
select is((select count(*)::int from durable.workflows), 0, 'nothing was written');

select lives_ok(
  $$ select * from durable.enqueue('noop', (repeat('[', 128) || repeat(']', 128))::jsonb,
                                   p_workflow_id => 'deep-ok') $$,
  '128 levels are accepted');
select lives_ok(
  $$ select * from durable.enqueue('noop', jsonb_build_object('s', repeat('[[{{', 2000),
       'wide', (select jsonb_agg(jsonb_build_array(i)) from generate_series(1, 500) i))) $$,
  'brackets inside strings and wide values are accepted');

select durable.set_queue('deep_q');
select * from durable_test.start('wf', 'deep-worker', p_queue => 'deep_q', p_workflow_id => 'deep-run') \gset
select throws_ok(format(
  $$ select * from durable.checkpoint('deep-run', %s, 0, 's', (repeat('[', 300) || repeat(']', 300))::jsonb) $$,
  :lease), 'DU011', 'step output nests deeper than 128 levels of arrays and objects',
  'a step output too deep raises DU011');
select throws_ok(format(
  $$ select durable.complete('deep-run', %s, (repeat('[', 300) || repeat(']', 300))::jsonb) $$,
  :lease), 'DU011', null, 'a workflow output too deep raises DU011');
select is((select status from durable.workflows where id = 'deep-run'), 'running',
  'the run is untouched');

select * from finish();
rollback;
