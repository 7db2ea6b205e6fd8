-- app_versions: workers take only the workflows they have code for.
--
-- During a rolling deploy a worker of the old code claimed workflows it had no code for and
-- failed them, and a workflow started under one version of its code and recovered by another
-- failed with DU005 (nondeterminism), retried like a transient error. Now:
--   * durable.register (deploy/workers.sql) records on the worker's row the workflow names it
--     can run (workflow_names; null: any) and the version of its code (version; null: none);
--   * a claim takes only workflows whose name the worker registered, and only those whose
--     version is the worker's or not yet set; the first claim sets it (a run is pinned to the
--     code version that first ran it, as DBOS recovers a workflow only on its own application
--     version). Other workflows stay pending without using an attempt.
--   * durable.workflow_types keeps each registered workflow's defaults (queue, retry policy,
--     crash limit), which enqueue uses when a caller (psql, another language, the CLI) leaves
--     them out.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.workers
  add column workflow_names text[],
  add column version text,
  add constraint workers_version_format check (length(version) between 1 and 200);
comment on column durable.workers.workflow_names is
  'The workflow names the worker has code for (durable.register); its claims take no other. '
  'Null: any name (a worker that never registered, e.g. one driven from psql).';
comment on column durable.workers.version is
  'The version of the worker''s code (durable.register); its claims take only workflows of '
  'that version or of none yet. Null: only workflows of no version.';

alter table durable.workflows
  add column version text,
  add constraint workflows_version_format check (length(version) between 1 and 200);
comment on column durable.workflows.version is
  'The code version the workflow is pinned to: that of the worker that first claimed it. Only '
  'workers of that version claim it again. Null until then (or when that worker had none).';

create table durable.workflow_types (
  name text primary key,
  queue text,
  max_attempts integer not null,
  backoff_base interval not null,
  backoff_max interval not null,
  max_lost_leases integer,
  version text,
  worker text not null,
  registered_at timestamptz not null,
  constraint workflow_types_name_format check (length(name) between 1 and 200),
  constraint workflow_types_attempts check (max_attempts >= 1),
  constraint workflow_types_backoff
    check (backoff_base > interval '0' and backoff_max >= backoff_base),
  constraint workflow_types_max_lost_leases check (max_lost_leases between 1 and 1000)
);
-- A worker's row is forgotten when its heartbeat has expired and it holds nothing (so claims
-- keep a short list of dead workers); a worker that was only late comes back through
-- touch_worker, which takes its names and version from here, so it never claims unpinned.
create table durable.worker_registrations (
  worker text primary key,
  login text not null,
  workflow_names text[] not null,
  version text,
  registered_at timestamptz not null
);
comment on table durable.worker_registrations is
  'The last durable.register of each worker id: the names and version its row gets back when a '
  'heartbeat or claim recreates a row that was forgotten while the worker was late. Forgotten a '
  'day after the worker''s row is gone.';

comment on table durable.workflow_types is
  'The workflows workers registered (durable.register), with the defaults their code declares: '
  'enqueue uses them for the arguments a caller leaves out (queue null: none declared, enqueue '
  'takes default and a child its parent''s). The last registration wins.';

commit;
