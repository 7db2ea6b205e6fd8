-- enqueue returns the workflow id and created = true, and writes one pending row with the
-- given name, input and queue.
begin;
select plan(4);
select durable_test.pin();

select results_eq(
  $$ select * from durable.enqueue('send_email', '{"to": "a@example.com"}', p_workflow_id => 'e-1') $$,
  $$ values ('e-1'::text, true) $$,
  'enqueue returns (workflow_id, created = true)');

select results_eq(
  $$ select name, queue, status, input, attempt, claims, owner, lease, output, error, finished_at
       from durable.workflows where id = 'e-1' $$,
  $$ values ('send_email'::text, 'default'::text, 'pending'::text, '{"to": "a@example.com"}'::jsonb,
             1, 0, null::text, null::bigint, null::jsonb, null::jsonb, null::timestamptz) $$,
  'the row is pending on the default queue with the input, unclaimed and unfinished');

select durable.enqueue('no_input', p_workflow_id => 'e-2');
select is((select input from durable.workflows where id = 'e-2'), 'null'::jsonb,
  'without input the input is JSON null');

select durable.enqueue('sql_null_input', null, p_workflow_id => 'e-3');
select is((select input from durable.workflows where id = 'e-3'), 'null'::jsonb,
  'an SQL null input is stored as JSON null');

select * from finish();
rollback;
