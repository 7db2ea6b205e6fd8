-- run_started: when a workflow first started, so a run's duration does not include its delay.
--
-- durable.runs.duration was finished_at - created_at: a workflow enqueued with a one-hour delay
-- that ran for a second showed an hour. durable.workflows.started_at is set by its first claim
-- (deploy/claim.sql); the views show duration = finished_at - started_at.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.workflows add column started_at timestamptz;
comment on column durable.workflows.started_at is
  'When the workflow was first claimed (its first attempt started); null until then.';
-- rows from before: the best known, the last claim
update durable.workflows set started_at = claimed_at where claimed_at is not null;

commit;
