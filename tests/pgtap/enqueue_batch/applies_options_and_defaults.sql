-- Each item takes the options of durable.enqueue, with the same defaults.
begin;
select plan(2);
select durable_test.pin();
select durable.set_queue('q2');

select durable.enqueue_batch('[
  {"name": "plain", "workflow_id": "o-1"},
  {"name": "full", "workflow_id": "o-2", "input": {"k": [1, 2]}, "queue": "q2", "priority": 4,
   "run_at": "2030-03-01T00:00:00Z", "max_attempts": 7, "backoff_base": "2 seconds",
   "backoff_max": "1 minute"},
  {"name": "later", "workflow_id": "o-3", "delay": "30 seconds"}]');

select results_eq(
  $$ select id, input, queue, priority, run_at, max_attempts, backoff_base, backoff_max
       from durable.workflows order by id $$,
  $$ values
       ('o-1'::text, 'null'::jsonb, 'default'::text, 0, durable_test.t0(), 3,
        interval '1 second', interval '1 hour'),
       ('o-2', '{"k": [1, 2]}', 'q2', 4, timestamptz '2030-03-01 00:00:00+00', 7,
        interval '2 seconds', interval '1 minute'),
       ('o-3', 'null', 'default', 0, durable_test.t0() + interval '30 seconds', 3,
        interval '1 second', interval '1 hour') $$,
  'options are stored and missing ones take enqueue''s defaults');
select ok((select bool_and(status = 'pending' and attempt = 1 and created_at = durable_test.t0())
             from durable.workflows), 'all pending at attempt 1, created now');

select * from finish();
rollback;
