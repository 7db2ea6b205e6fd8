-- tables: the state of every workflow run, its checkpoints, its errors, the queues and the
-- workers' heartbeats.
--
-- The state machine lives here, in CHECK constraints on durable.workflows (which columns a
-- status requires), and in the change `transitions` (which status may follow which).
--
--   pending    runnable once run_at has passed
--   running    leased: owner and lease (the fencing token) are set
--   waiting    parked until run_at (its wake time), then runnable again
--   succeeded, failed, cancelled: finished, finished_at is set
--
-- Only runnable and leased rows are in the claim's partial indexes, so finished history does
-- not slow a claim. Queue tables churn: autovacuum is set to run early on the hot ones.
begin;
set local role durable_admin;

create table durable.settings (
  singleton boolean primary key default true,
  max_payload_bytes integer not null default 1048576,
  default_lease_timeout interval not null default interval '30 seconds',
  constraint settings_one_row check (singleton),
  constraint settings_payload_range check (max_payload_bytes between 1024 and 268435456),
  constraint settings_lease_positive check (default_lease_timeout > interval '0')
);
insert into durable.settings default values;
comment on table durable.settings is
  'One row of server-side settings: max_payload_bytes (largest input, output or error accepted, '
  'in bytes of jsonb) and default_lease_timeout (how long a worker may go without a heartbeat '
  'before its workflows are reclaimed). Change them with update durable.settings set ...';

create table durable.queues (
  name text primary key,
  concurrency integer,
  paused boolean not null default false,
  created_at timestamptz not null default durable.now(),
  constraint queues_name_format check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$'),
  constraint queues_concurrency_positive check (concurrency > 0)
);
insert into durable.queues (name) values ('default');
comment on table durable.queues is
  'Queues and their settings: concurrency (most workflows running at once, null for no limit) '
  'and paused (claims skip the queue). Queue default always exists. Change with durable.set_queue.';

create sequence durable.lease_seq as bigint;
comment on sequence durable.lease_seq is 'Fencing tokens: every claim takes a new one.';

create table durable.workflows (
  id text primary key,
  name text not null,
  queue text not null references durable.queues (name),
  status text not null default 'pending',
  priority integer not null default 0,
  run_at timestamptz not null,
  attempt integer not null default 1,
  max_attempts integer not null default 3,
  backoff_base interval not null default interval '1 second',
  backoff_max interval not null default interval '1 hour',
  owner text,
  lease bigint,
  claims integer not null default 0,
  input jsonb not null default 'null',
  output jsonb,
  error jsonb,
  created_at timestamptz not null,
  claimed_at timestamptz,
  finished_at timestamptz,
  constraint workflows_status_known
    check (status in ('pending', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
  constraint workflows_id_format check (length(id) between 1 and 200),
  constraint workflows_name_format check (length(name) between 1 and 200),
  constraint workflows_attempts check (max_attempts >= 1 and attempt between 1 and max_attempts),
  constraint workflows_backoff check (backoff_base > interval '0' and backoff_max >= backoff_base),
  constraint workflows_running_is_leased
    check ((status = 'running') = (owner is not null and lease is not null)),
  constraint workflows_lease_whole check ((owner is null) = (lease is null)),
  constraint workflows_finished_at
    check ((status in ('succeeded', 'failed', 'cancelled')) = (finished_at is not null)),
  constraint workflows_output_on_success check ((status = 'succeeded') = (output is not null))
) with (
  fillfactor = 90,
  autovacuum_vacuum_scale_factor = 0.02,
  autovacuum_analyze_scale_factor = 0.02,
  autovacuum_vacuum_cost_delay = 1
);
comment on table durable.workflows is
  'One row per workflow run: status, claim and lease together. Written only by durable functions.';
comment on column durable.workflows.run_at is
  'pending: runnable from this time on; waiting: the wake time; otherwise the last such time.';
comment on column durable.workflows.attempt is
  'The current attempt, from 1; a failure that is retried adds one. Crashes do not count.';
comment on column durable.workflows.lease is
  'Fencing token of the current claim; null unless running. Every claim takes a new one.';
comment on column durable.workflows.claims is 'How many times the workflow was claimed.';

-- claim: runnable rows of one queue in priority order
create index workflows_runnable on durable.workflows (queue, priority desc, run_at)
  where status in ('pending', 'waiting');
-- claim (reclaim of dead workers' leases, concurrency count) and release
create index workflows_leased on durable.workflows (queue, owner) where status = 'running';
-- observability: recent runs, recent failures
create index workflows_created on durable.workflows (created_at);
create index workflows_failed on durable.workflows (finished_at) where status = 'failed';

create table durable.steps (
  workflow_id text not null references durable.workflows (id) on delete cascade,
  step_id integer not null,
  name text not null,
  output jsonb,
  error jsonb,
  attempt integer not null,
  lease bigint not null,
  started_at timestamptz,
  created_at timestamptz not null,
  primary key (workflow_id, step_id),
  constraint steps_position check (step_id >= 0),
  constraint steps_name_format check (length(name) between 1 and 200),
  constraint steps_output_or_error check ((output is null) <> (error is null))
) with (autovacuum_vacuum_insert_scale_factor = 0.05);
comment on table durable.steps is
  'Append-only checkpoints: the output (or the final error) of each step, keyed by the step''s '
  'position in the run. The primary key is the duplicate detector.';

create table durable.errors (
  id bigint generated always as identity primary key,
  workflow_id text not null references durable.workflows (id) on delete cascade,
  step_id integer,
  name text,
  attempt integer not null,
  error jsonb not null,
  created_at timestamptz not null
);
create index errors_workflow on durable.errors (workflow_id, step_id, attempt);
create index errors_created on durable.errors (created_at);
comment on table durable.errors is
  'Every error ever reported: one row per failed step try (step_id set) and per failed workflow '
  'attempt (step_id null). Nothing here is updated or deleted except with its workflow.';

create table durable.workers (
  id text primary key,
  started_at timestamptz not null,
  heartbeat_at timestamptz not null,
  lease_timeout interval not null,
  expires_at timestamptz not null,
  constraint workers_id_format check (length(id) between 1 and 200),
  constraint workers_lease_positive check (lease_timeout > interval '0')
) with (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
comment on table durable.workers is
  'Heartbeats: a worker''s leases are alive while expires_at is in the future.';

commit;
