-- enqueue_batch: one id twice in a batch with other inputs, the second item asking
-- refuse_different_input, is DU018 as it would be in two calls.
-- Regression (failed before the fix): the check looks only at runs that existed before the batch, so
-- the second item silently returns the first (created = false).
begin;
select plan(2);

select throws_ok($$ select durable.enqueue_batch('[{"name": "wf", "workflow_id": "x", "input": 1}, {"name": "wf", "workflow_id": "x", "input": 2, "if_exists": "refuse_different_input"}]') $$,
  'DU018', null, 'the second item, with another input, raises DU018');
select is((select count(*)::int from durable.workflows), 0, 'and nothing is written');

select * from finish();
rollback;
