-- The CHECK constraints refuse rows whose columns contradict their status, even from a direct
-- write by the owner: running needs owner and lease (and only running has them), finished
-- statuses need finished_at (and only they have it), only succeeded has an output; plus the
-- ranges of ids, names, attempts, backoff, steps, queues, workers and settings.
begin;
select plan(20);

select durable_test.make('p', 'pending');
select durable_test.make('r', 'running');

select throws_ok($$ update durable.workflows set status = 'running' where id = 'p' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_running_is_leased"',
  'running without owner and lease is refused');
select throws_ok($$ update durable.workflows set owner = 'x', lease = 1 where id = 'p' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_running_is_leased"',
  'pending with an owner and lease is refused');
select throws_ok($$ update durable.workflows set lease = null where id = 'r' $$,
  '23514', null, 'running without a lease is refused');
select throws_ok($$ update durable.workflows set owner = 'x' where id = 'p' $$,
  '23514', null, 'an owner without a lease is refused');
select throws_ok(
  $$ update durable.workflows set status = 'succeeded', owner = null, lease = null, finished_at = now() where id = 'r' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_output_on_success"',
  'succeeded without output is refused');
select throws_ok(
  $$ update durable.workflows set status = 'failed', owner = null, lease = null, finished_at = now(), output = '1' where id = 'r' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_output_on_success"',
  'failed with an output is refused');
select throws_ok(
  $$ update durable.workflows set status = 'cancelled', owner = null, lease = null where id = 'r' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_finished_at"',
  'cancelled without finished_at is refused');
select throws_ok($$ update durable.workflows set finished_at = now() where id = 'p' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_finished_at"',
  'pending with finished_at is refused');
select throws_ok($$ insert into durable.workflows (id, name, queue, status, run_at, created_at)
                    values ('x', 'wf', 'default', 'done', now(), now()) $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_status_known"',
  'an unknown status is refused');
select throws_ok($$ update durable.workflows set attempt = 4 where id = 'p' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_attempts"',
  'attempt above max_attempts is refused');
select throws_ok($$ update durable.workflows set attempt = 0 where id = 'p' $$,
  '23514', null, 'attempt 0 is refused');
select throws_ok($$ update durable.workflows set backoff_max = interval '1 ms' where id = 'p' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_backoff"',
  'backoff_max below backoff_base is refused');
select throws_ok($$ update durable.workflows set id = '' where id = 'p' $$,
  '23514', 'new row for relation "workflows" violates check constraint "workflows_id_format"',
  'an empty id is refused');
select throws_ok($$ update durable.workflows set queue = 'nope' where id = 'p' $$,
  '23503', null, 'a workflow on an unknown queue is refused (foreign key)');
select throws_ok($$ insert into durable.steps (workflow_id, step_id, name, output, error, attempt, lease, created_at)
                    values ('r', 0, 's', '1', '{}', 1, 1, now()) $$,
  '23514', 'new row for relation "steps" violates check constraint "steps_output_or_error"',
  'a step with both output and error is refused');
select throws_ok($$ insert into durable.steps (workflow_id, step_id, name, output, error, attempt, lease, created_at)
                    values ('r', -1, 's', '1', null, 1, 1, now()) $$,
  '23514', 'new row for relation "steps" violates check constraint "steps_position"',
  'a negative step position is refused');
select throws_ok($$ update durable.queues set concurrency = 0 $$,
  '23514', 'new row for relation "queues" violates check constraint "queues_concurrency_positive"',
  'a queue concurrency of 0 is refused');
select throws_ok($$ insert into durable.settings (singleton) values (false) $$,
  '23514', 'new row for relation "settings" violates check constraint "settings_one_row"',
  'a second settings row is refused');
select throws_ok($$ update durable.settings set max_payload_bytes = 1023 $$,
  '23514', 'new row for relation "settings" violates check constraint "settings_payload_range"',
  'a payload limit under 1 KiB is refused');
select throws_ok($$ insert into durable.workers values ('w', now(), now(), interval '0', now()) $$,
  '23514', 'new row for relation "workers" violates check constraint "workers_lease_positive"',
  'a worker with a zero lease timeout is refused');

select * from finish();
rollback;
