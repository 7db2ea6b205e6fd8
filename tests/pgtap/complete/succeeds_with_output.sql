-- complete ends a running workflow: succeeded with its output, owner and lease cleared,
-- finished_at now, steps kept.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'done-1');
select durable.checkpoint('done-1', (select lease from durable.workflows where id = 'done-1'), 0, 's', '1');
select durable_test.advance(interval '3 seconds');

select is(durable.complete('done-1', (select lease from durable.workflows where id = 'done-1'), '{"total": 42}'),
  'succeeded', 'complete returns succeeded');
select results_eq(
  $$ select status, output, error, owner, lease, finished_at, attempt from durable.workflows where id = 'done-1' $$,
  $$ values ('succeeded'::text, '{"total": 42}'::jsonb, null::jsonb, null::text, null::bigint,
             durable_test.t0() + interval '3 seconds', 1) $$,
  'succeeded with output, no owner or lease, finished now');
select is((select count(*)::int from durable.steps where workflow_id = 'done-1'), 1, 'its steps are kept');

select * from durable_test.start(p_workflow_id => 'done-2');
select durable.complete('done-2', (select lease from durable.workflows where id = 'done-2'));
select is((select output from durable.workflows where id = 'done-2'), 'null'::jsonb,
  'without output the output is JSON null (still a success)');

select * from finish();
rollback;
