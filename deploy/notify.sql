-- notify (v0.2.0: only queues a live worker is idle on, see idle_workers.sql): wake sleeping
-- workers when work becomes runnable.
--
-- One NOTIFY on channel durable_runnable, payload the queue name, per statement and queue that
-- inserts runnable workflows, and per queue when an update makes a workflow pending again
-- (release, retry); Postgres folds identical notifications of one transaction into one. It is
-- sent at commit, so a workflow enqueued in a transaction that rolls back wakes nobody. This is
-- a hint: workers also poll, so a lost notification delays work but never loses it. Delayed
-- workflows (run_at in the future) are found by that poll.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.notify_inserted()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
begin
  -- only where a live worker waits on the queue (its last claim there found nothing): a busy
  -- worker claims again by itself, and every notifying commit takes a server-wide lock
  perform pg_catalog.pg_notify('durable_runnable', q.queue)
     from (select distinct n.queue from new_rows n
            where n.status = 'pending' and n.run_at <= v_now) q
    where exists (select 1 from durable.workers k
                   where k.idle_queues @> array[q.queue] and k.expires_at >= v_now);
  return null;
end
$$;
comment on function durable.notify_inserted() is
  'Trigger function: one NOTIFY durable_runnable per queue that an insert statement made '
  'runnable work in and that a live worker is idle on (durable.workers.idle_queues); the '
  'payload is the queue name.';

create or replace function durable.notify_pending()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
begin
  if new.run_at <= v_now
     and exists (select 1 from durable.workers k
                  where k.idle_queues @> array[new.queue] and k.expires_at >= v_now) then
    perform pg_catalog.pg_notify('durable_runnable', new.queue);
  end if;
  return null;
end
$$;
comment on function durable.notify_pending() is
  'Trigger function: NOTIFY durable_runnable with the queue name when an update makes a '
  'workflow pending and runnable now and a live worker is idle on its queue.';

create or replace trigger workflows_notify_insert
  after insert on durable.workflows
  referencing new table as new_rows
  for each statement
  execute function durable.notify_inserted();
comment on trigger workflows_notify_insert on durable.workflows is
  'Wakes workers listening on durable_runnable when runnable workflows are inserted.';

create or replace trigger workflows_notify_pending
  after update of status on durable.workflows
  for each row
  when (new.status = 'pending' and old.status is distinct from 'pending')
  execute function durable.notify_pending();
comment on trigger workflows_notify_pending on durable.workflows is
  'Wakes workers listening on durable_runnable when a workflow becomes pending again.';

commit;
