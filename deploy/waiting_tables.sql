-- waiting_tables: what waiting needs in the tables (issue 10; the functions are in waiting.sql).
--
--   durable.workflows  parent_id and detached (child workflows), deadline (the workflow's
--                      timeout, as a time), watched (its finish NOTIFYs durable_finished)
--   durable.waits      one row per wait a run reached: its terms, fixed the first time the run
--                      reaches it (what it waits for, its deadline), and when it parked, was
--                      woken and was resolved
--   durable.messages   messages sent to a workflow, consumed at most once, by one recv step
--   durable.events     events a workflow published (latest value per key, history kept)
--   durable.workflow_types.timeout  a registered default timeout
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.workflows
  add column parent_id text references durable.workflows (id) on delete set null,
  add column detached boolean not null default false,
  add column deadline timestamptz,
  add column watched boolean not null default false;
comment on column durable.workflows.parent_id is
  'The workflow that started this one as a child (durable.start_child); null for others.';
comment on column durable.workflows.detached is
  'A child that a cancel of its parent leaves alone (start_child''s p_detached).';
comment on column durable.workflows.deadline is
  'When the workflow is cancelled if it has not finished (enqueue''s p_timeout after run_at); '
  'null: never.';
comment on column durable.workflows.watched is
  'Someone waits for the finish (durable.watch): it sends NOTIFY durable_finished, payload the id.';
-- a parent's children (cancel cascade, await_children, durable show)
create index workflows_children on durable.workflows (parent_id) where parent_id is not null;
-- a parent's unfinished children (a child's finish asks whether its parent's wait is over)
create index workflows_open_children on durable.workflows (parent_id)
  where parent_id is not null and status in ('pending', 'running', 'waiting');
-- unfinished workflows with a deadline (claim and heartbeat cancel those whose deadline passed)
create index workflows_deadline on durable.workflows (deadline)
  where deadline is not null and status in ('pending', 'running', 'waiting');

alter table durable.workflow_types add column timeout interval,
  add constraint workflow_types_timeout check (timeout > interval '0');
comment on column durable.workflow_types.timeout is
  'The timeout the workflow''s code declares (durable.register), for enqueue''s p_timeout.';

create table durable.waits (
  workflow_id text not null references durable.workflows (id) on delete cascade,
  step_id integer not null,
  name text not null,
  kind text not null,
  topic text,
  target text,
  children text[],
  deadline timestamptz,
  created_at timestamptz not null,
  parked_at timestamptz,
  woken_at timestamptz,
  resolved_at timestamptz,
  outcome text,
  primary key (workflow_id, step_id),
  constraint waits_kind check (kind in ('sleep', 'message', 'event', 'children')),
  constraint waits_outcome check ((outcome is null) = (resolved_at is null)
                                  and outcome in ('ready', 'timed_out'))
);
-- the awaiters of an event (set_event wakes them)
create index waits_events on durable.waits (target, topic)
  where kind = 'event' and resolved_at is null;
comment on table durable.waits is
  'Every wait a run reached (sleep, message, event, children), keyed by its step position: '
  'its terms (kind, topic: a message topic or event key, target: whose event, children, '
  'deadline: null waits forever) fixed when first reached (created_at), when it last parked the '
  'run and was woken, and its outcome (ready or timed_out) once recorded as the step.';

create table durable.messages (
  id bigint generated always as identity primary key,
  workflow_id text not null references durable.workflows (id) on delete cascade,
  topic text not null,
  message jsonb not null,
  idempotency_key text,
  sender text,
  created_at timestamptz not null,
  consumed_at timestamptz,
  consumed_step integer,
  constraint messages_key unique (workflow_id, idempotency_key),
  constraint messages_consumed check ((consumed_at is null) = (consumed_step is null))
);
-- recv: the oldest unconsumed message of a topic
create index messages_unconsumed on durable.messages (workflow_id, topic, id)
  where consumed_at is null;
comment on table durable.messages is
  'Messages sent to workflows (durable.send, durable.send_step), each consumed at most once, by '
  'the recv step recorded as consumed_step; sender is the sending workflow, when one sent it.';

create table durable.events (
  id bigint generated always as identity primary key,
  workflow_id text not null references durable.workflows (id) on delete cascade,
  key text not null,
  value jsonb not null,
  step_id integer not null,
  created_at timestamptz not null
);
create index events_latest on durable.events (workflow_id, key, id);
comment on table durable.events is
  'Events workflows published (durable.set_event): every value kept; the latest per key counts.';

commit;
