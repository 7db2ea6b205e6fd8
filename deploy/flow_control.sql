-- flow_control (issue 11): what the claim needs for rate limits and per-key concurrency, and
-- enqueue for deduplication; the functions are in claim.sql, enqueue.sql and control.sql.
--
--   durable.queues        rate_limit and rate_period: at most rate_limit claims of its
--                         workflows in any window of rate_period (a sliding window);
--                         key_concurrency: at most that many running per concurrency key
--   durable.queue_starts  the rate-limited queues' start slots: rate_limit rows at most per
--                         queue, each the time of the last start it allowed; a claim takes the
--                         slots last used a period ago or more (skip locked), so claims of one
--                         queue do not wait for each other
--   durable.run_slots     the run slots of concurrency limits (a queue's, a concurrency key's,
--                         and durable.settings.max_running across all queues): a claim takes
--                         free slots (skip locked) and writes into each the workflow it starts
--                         and its lease; a slot is free again once that workflow no longer
--                         runs under that lease, so completions write nothing here and claims
--                         of one limited queue do not wait for each other
--   durable.workflows     concurrency_key (enqueue's p_concurrency_key), dedup_key (one pending
--                         run per key and queue), forked_from and forked_at (durable.fork)
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.queues
  add column rate_limit integer,
  add column rate_period interval,
  add column key_concurrency integer,
  add constraint queues_rate_limit check (rate_limit > 0),
  add constraint queues_rate_period
    check (rate_period > interval '0' and rate_period <= interval '1 day'),
  add constraint queues_rate_whole check ((rate_limit is null) = (rate_period is null)),
  add constraint queues_key_concurrency check (key_concurrency > 0);
comment on column durable.queues.rate_limit is
  'At most this many claims of the queue''s workflows in any window of rate_period (a sliding '
  'window, across all workers); null: no rate limit.';
comment on column durable.queues.key_concurrency is
  'At most this many workflows of one concurrency key running at once (enqueue''s '
  'p_concurrency_key); null: no per-key limit. Workflows without a key are not limited by it.';

create table durable.queue_starts (
  queue text not null references durable.queues (name) on delete cascade,
  slot integer not null,
  at timestamptz not null,
  primary key (queue, slot),
  constraint queue_starts_slot check (slot > 0)
);
-- the slots free longest first (the claim's order): a claim reads about as many as it takes
create index queue_starts_free on durable.queue_starts (queue, at);
comment on table durable.queue_starts is
  'The start slots of rate-limited queues (a sliding-window limit as a semaphore of rows): slot '
  '1..rate_limit of a queue allows one start per rate_period, at is when it last did '
  '(-infinity: never). A claim takes slots whose at is a period old or more, for update skip '
  'locked, and sets at to its time for each workflow it starts: every slot starts at most one '
  'workflow in any window of rate_period, so at most rate_limit start in it, and claims of one '
  'queue run side by side. Slots are made when first needed (one claim at a time makes them, '
  'under an advisory lock it does not wait for); those above a lowered limit are not used.';

create table durable.run_slots (
  queue text not null,
  key text not null,
  slot integer not null,
  workflow_id text,
  lease bigint,
  primary key (queue, key, slot),
  constraint run_slots_slot check (slot > 0),
  constraint run_slots_held check ((workflow_id is null) = (lease is null))
);
-- the slots of a run, found again when a lost run is reclaimed under a new lease
create index run_slots_workflow on durable.run_slots (workflow_id) where workflow_id is not null;
comment on table durable.run_slots is
  'The run slots of concurrency limits, a semaphore of rows: (queue, '''', 1..concurrency) for a '
  'queue''s concurrency, (queue, key, 1..key_concurrency) for a concurrency key of a queue with '
  'key_concurrency, ('''', '''', 1..max_running) for durable.settings.max_running. A claim takes '
  'free slots for update skip locked and writes into each the workflow it starts and that run''s '
  'lease; a slot is free when no workflow runs under the lease it names (completed, failed, '
  'parked, released, cancelled: nothing writes here for them), so claims of one limited queue '
  'never wait for each other and a completion writes no slot. Slots are made when first needed '
  '(one claim at a time per limit, under an advisory lock it does not wait for); those above a '
  'lowered limit are not handed out, and while one still holds a run every claim of that limit '
  'counts the held slots, one claim at a time. Rows of keys with nothing running are deleted by '
  'durable.housekeep.';

alter table durable.settings
  add column max_running integer,
  add constraint settings_max_running check (max_running > 0);
comment on column durable.settings.max_running is
  'At most this many workflows running at once across all queues and workers (run slots, '
  'durable.run_slots, beside each queue''s own limits); null (the default): no such limit. '
  'Change with update durable.settings set max_running = ...: the runs running then count.';

alter table durable.workflows
  add column concurrency_key text,
  add column dedup_key text,
  add column forked_from text,
  add column forked_at integer,
  add constraint workflows_concurrency_key check (length(concurrency_key) between 1 and 200),
  add constraint workflows_dedup_key check (length(dedup_key) between 1 and 200);
comment on column durable.workflows.concurrency_key is
  'The key (a customer, a tenant, a document) its queue''s key_concurrency limits; null: none.';
comment on column durable.workflows.dedup_key is
  'Until the workflow is first claimed, no other workflow of its queue waiting for its first '
  'claim has this key (enqueue''s p_dedup_key).';
comment on column durable.workflows.forked_from is
  'The workflow this one was forked from (durable.fork), with its recorded steps before '
  'position forked_at.';
-- not started yet: a run claimed once (then released, retried or woken) holds no key
create unique index workflows_dedup on durable.workflows (queue, dedup_key)
  where dedup_key is not null and status = 'pending' and started_at is null;

commit;
