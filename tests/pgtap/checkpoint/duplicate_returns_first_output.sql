-- A second checkpoint at a recorded position writes nothing and returns recorded = false with
-- the output recorded first: that is the one that counts (also for another worker after a
-- reclaim).
begin;
select plan(5);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'dup', p_lease_timeout => interval '10 seconds');
select durable.checkpoint('dup', (select lease from durable.workflows where id = 'dup'), 0, 'pay', '{"charge": "ch_1"}');

select results_eq(
  $$ select * from durable.checkpoint('dup', (select lease from durable.workflows where id = 'dup'), 0, 'pay', '{"charge": "ch_2"}') $$,
  $$ values (false, '{"charge": "ch_1"}'::jsonb, null::jsonb) $$,
  'the same position again returns recorded = false and the first output');
select results_eq(
  $$ select count(*)::int, min(output::text) from durable.steps $$,
  $$ values (1, '{"charge": "ch_1"}') $$,
  'still one step with the first output');

-- after a reclaim the new owner gets the first output too
select durable_test.advance(interval '11 seconds');
select durable.claim('worker-b');
select results_eq(
  $$ select * from durable.checkpoint('dup', (select lease from durable.workflows where id = 'dup'), 0, 'pay', '{"charge": "ch_3"}') $$,
  $$ values (false, '{"charge": "ch_1"}'::jsonb, null::jsonb) $$,
  'the new owner''s duplicate also gets the first output');

-- an error at a position that holds an output: the output counts, no error row
select results_eq(
  $$ select * from durable.checkpoint('dup', (select lease from durable.workflows where id = 'dup'), 0, 'pay', null, '{"message": "late"}') $$,
  $$ values (false, '{"charge": "ch_1"}'::jsonb, null::jsonb) $$,
  'an error reported for a recorded position returns the recorded output');
select is((select count(*)::int from durable.errors), 0, 'and is not kept as an error');

select * from finish();
rollback;
