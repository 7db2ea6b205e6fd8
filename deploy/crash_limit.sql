-- crash_limit: a workflow whose worker keeps dying with it fails instead of looping forever.
--
-- A step that kills its own worker process (a segfault, an OOM kill) was reclaimed and run
-- again after every restart, without end: a lost lease is not a failed attempt. Now every
-- reclaim of a dead worker's workflow counts one lost lease (durable.workflows.lost_leases);
-- when a workflow has lost max_lost_leases (its own, from enqueue, else
-- durable.settings.max_lost_leases, default 3), the next reclaim fails it for good with an
-- error that says so and at which step (the claim, deploy/claim.sql).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.settings
  add column max_lost_leases integer not null default 3,
  add constraint settings_max_lost_leases_range check (max_lost_leases between 1 and 1000);
comment on column durable.settings.max_lost_leases is
  'How many times a workflow may lose its worker (heartbeat expired, the workflow reclaimed) '
  'before the next reclaim fails it instead of running it again: a crash loop. Default 3, '
  'between 1 and 1000; enqueue''s p_max_lost_leases overrides it per workflow.';

-- both without a rewrite of the table (a constant default)
alter table durable.workflows
  add column lost_leases integer not null default 0,
  add column max_lost_leases integer,
  add constraint workflows_lost_leases check (lost_leases >= 0),
  add constraint workflows_max_lost_leases check (max_lost_leases between 1 and 1000);
comment on column durable.workflows.lost_leases is
  'How many times the workflow was reclaimed from a worker whose heartbeat expired.';
comment on column durable.workflows.max_lost_leases is
  'The workflow''s own bound on lost_leases (enqueue''s p_max_lost_leases); null: '
  'durable.settings.max_lost_leases.';

commit;
