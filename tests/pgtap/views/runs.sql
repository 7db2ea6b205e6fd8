-- durable.runs: one row per workflow with its status, attempts, owner, payloads, timestamps and
-- duration (finished_at - created_at, once finished).
begin;
select plan(3);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'v-done', p_input => '{"i": 1}');
select durable.enqueue('other', p_workflow_id => 'v-pending', p_priority => 3);
select durable_test.advance(interval '90 seconds');
select durable.complete('v-done', (select lease from durable.workflows where id = 'v-done'), '{"o": 1}');

select is((select count(*)::int from durable.runs), 2, 'one row per workflow');
select results_eq(
  $$ select id, name, queue, status, priority, attempt, max_attempts, owner, claims, input, output, error,
            created_at, claimed_at, finished_at, duration
       from durable.runs order by id $$,
  $$ values ('v-done'::text, 'wf'::text, 'default'::text, 'succeeded'::text, 0, 1, 3, null::text, 1,
             '{"i": 1}'::jsonb, '{"o": 1}'::jsonb, null::jsonb, durable_test.t0(), durable_test.t0(),
             durable_test.t0() + interval '90 seconds', interval '90 seconds'),
            ('v-pending', 'other', 'default', 'pending', 3, 1, 3, null, 0,
             'null', null, null, durable_test.t0(), null, null, null) $$,
  'the columns show each run');
select has_column('durable', 'runs', 'run_at', 'runs shows run_at');

select * from finish();
rollback;
