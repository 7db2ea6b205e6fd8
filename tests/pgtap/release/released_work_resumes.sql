-- A released workflow resumes from its last checkpoint: same attempt, steps intact, and the old
-- lease can no longer write.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'res', p_worker => 'rel-a');
create temp table old as select lease from durable.workflows where id = 'res';
select durable.checkpoint('res', (select lease from old), 0, 'one', '1');
select durable.checkpoint('res', (select lease from old), 1, 'two', '2');
select durable.release('rel-a');

select results_eq($$ select workflow_id, attempt, steps from durable.claim('rel-b') $$,
  $$ values ('res'::text, 1, '[{"step_id": 0, "name": "one", "output": 1, "error": null},
                              {"step_id": 1, "name": "two", "output": 2, "error": null}]'::jsonb) $$,
  'the next claim gets it at the same attempt with both steps');
select throws_ok(format($$ select * from durable.checkpoint('res', %s, 2, 'three', '3') $$, (select lease from old)),
  'DU001', null, 'the released lease cannot write');
select results_eq(
  $$ select recorded from durable.checkpoint('res', (select lease from durable.workflows where id = 'res'), 2, 'three', '3') $$,
  $$ values (true) $$, 'the new owner continues at step 2');
select is((select claims from durable.workflows where id = 'res'), 2, 'claimed twice');

select * from finish();
rollback;
