-- bulk (issue 11): retention of finished workflows, and cancel, retry and purge by filter, all
-- in bounded batches with short transactions.
--
-- Retention: durable.settings.retain_succeeded and retain_failed (failed and cancelled) say how
-- long finished workflows are kept (null: forever, the default); durable.housekeep, called by
-- the workers (or pg_cron, or psql), deletes one batch of what is due (purge_batch rows), in
-- one session at a time (a transaction-scoped advisory lock elects it; the others return at
-- once). A deleted workflow takes its steps, errors, waits, messages and events with it (the
-- foreign keys cascade); its children's parent_id becomes null.
--
-- A family is kept while one of its members is unfinished: a finished workflow is not purged
-- while its parent is unfinished (the parent may still await it: await_children reads its
-- outcome) nor while one of its children is (a cancel of the parent still reaches the child).
--
-- Bulk operations by filter (queue, name, status, created_at and finished_at ranges):
-- cancel_where, retry_where and purge_where each process at most p_limit workflows per call
-- and say whether more may remain, so a client loops, one short transaction per call; p_dry_run
-- counts what would be processed. A call with no filter at all is refused (DU010): matching
-- everything must be said (p_status => every status).
--
-- Plans: the statements name the statuses they read as literals (status in (...)), so that even
-- a generic plan uses the partial index of those rows (workflows_finished, workflows_runnable,
-- workflows_leased). cancel_where plans its selection with the values given (EXECUTE): the queue
-- is the first column of the indexes of unfinished rows. Nothing here forces custom plans on
-- the statements it calls: the foreign keys' cascades would be planned again for every row
-- (a purge ran at a third of its speed).
--
-- Lock order:
--   purge (purge_batch, purge_where, housekeep): the candidate workflow rows FOR UPDATE SKIP
--   LOCKED; then their children outside the batch FOR NO KEY UPDATE SKIP LOCKED (the delete
--   sets their parent_id null) and their parents outside the batch FOR KEY SHARE SKIP LOCKED
--   (a retry of the parent waits for the batch); a candidate with a relative that could not be
--   locked stays for a later batch. Then the delete (steps, errors, waits, messages, events of
--   the batch's rows, the children's parent_id). Every lock is taken with SKIP LOCKED: a purge
--   never waits for a claim, a heartbeat or another purge, and a claim never waits for a purge
--   (finished rows are not in the claim's indexes).
--   housekeep: first pg_try_advisory_xact_lock (not elected: nothing else is done).
--   cancel_where: per workflow, in id order, durable.cancel_tree's order (waiting.sql: the family
--   advisory locks of each level of the tree, then that level's rows).
--   retry_where: the workflow rows FOR UPDATE SKIP LOCKED, then their steps (as durable.retry).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

-- settings ------------------------------------------------------------------------------------

alter table durable.settings
  add column retain_succeeded interval,
  add column retain_failed interval,
  add column purge_batch integer not null default 1000,
  add constraint settings_retain_succeeded_range
    check (retain_succeeded > interval '0' and retain_succeeded <= interval '100 years'),
  add constraint settings_retain_failed_range
    check (retain_failed > interval '0' and retain_failed <= interval '100 years'),
  add constraint settings_purge_batch_range check (purge_batch between 1 and 10000);
comment on column durable.settings.retain_succeeded is
  'How long a succeeded workflow is kept after it finished (more than 0, at most 100 years), '
  'then durable.housekeep deletes it with its steps, errors, waits, messages and events; null '
  '(the default): kept forever. Once deleted, its id may be enqueued again as a new workflow.';
comment on column durable.settings.retain_failed is
  'How long a failed or cancelled workflow is kept after it finished (more than 0, at most 100 '
  'years), as retain_succeeded; null (the default): kept forever.';
comment on column durable.settings.purge_batch is
  'How many workflows one durable.housekeep call deletes at most (1..10000, default 1000): one '
  'short transaction each.';

-- finished rows by status and finish time: retention, purge_batch, purge_where, retry_where
create index workflows_finished on durable.workflows (status, finished_at)
  where status in ('succeeded', 'failed', 'cancelled');

-- checks --------------------------------------------------------------------------------------

create function durable.check_filters(
  p_statuses text[],
  p_allowed text[],
  p_queue text,
  p_created_after timestamptz,
  p_created_before timestamptz,
  p_finished_after timestamptz,
  p_finished_before timestamptz
)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if cardinality(p_statuses) = 0 or array_position(p_statuses, null) is not null
     or not p_statuses <@ p_allowed then
    raise exception 'status must be a non-empty array of %, got %', p_allowed, p_statuses
      using errcode = 'DU011';
  end if;
  if p_queue is not null and not exists (select 1 from durable.queues q where q.name = p_queue) then
    raise exception 'unknown queue %', p_queue
      using errcode = 'DU004', hint = 'durable.queue_stats lists the queues.';
  end if;
  if p_created_after >= p_created_before then
    raise exception 'created_after (%) must be before created_before (%)',
        p_created_after, p_created_before
      using errcode = 'DU011';
  end if;
  if p_finished_after >= p_finished_before then
    raise exception 'finished_after (%) must be before finished_before (%)',
        p_finished_after, p_finished_before
      using errcode = 'DU011';
  end if;
end
$$;
comment on function durable.check_filters(text[], text[], text, timestamptz, timestamptz,
                                          timestamptz, timestamptz) is
  'The filter checks shared by the bulk operations (check_bulk) and the run listings '
  '(check_list): DU011 a status not in p_allowed (or an empty array, or a null in it), an empty '
  'time range (after >= before); DU004 unknown queue. Internal.';

create function durable.check_bulk(
  p_statuses text[],
  p_allowed text[],
  p_queue text,
  p_name text,
  p_created_after timestamptz,
  p_created_before timestamptz,
  p_finished_after timestamptz,
  p_finished_before timestamptz,
  p_limit integer
)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_limit is null then
    raise exception 'limit must not be null'
      using errcode = 'DU010', hint = 'Pass p_limit, 1 to 10000 workflows per call (default 1000).';
  end if;
  if p_limit < 1 or p_limit > 10000 then
    raise exception 'limit must be between 1 and 10000, got %', p_limit
      using errcode = 'DU011', hint = 'Call again while more = true: one short transaction each.';
  end if;
  if p_queue is null and p_name is null and p_statuses is null and p_created_after is null
     and p_created_before is null and p_finished_after is null and p_finished_before is null then
    raise exception 'no filter given: a bulk operation on every workflow must be asked for'
      using errcode = 'DU010',
            hint = pg_catalog.format('Pass a queue, a name, a time range, or p_status => %L to '
                                     'match every workflow it applies to.', p_allowed);
  end if;
  perform durable.check_filters(p_statuses, p_allowed, p_queue, p_created_after,
                                p_created_before, p_finished_after, p_finished_before);
end
$$;
comment on function durable.check_bulk(text[], text[], text, text, timestamptz, timestamptz,
                                       timestamptz, timestamptz, integer) is
  'The argument checks of the bulk operations: DU010 null limit or no filter at all, DU011 '
  'limit outside 1..10000, a status not in p_allowed (or an empty array), an empty time range, '
  'DU004 unknown queue. Internal.';

-- purge ---------------------------------------------------------------------------------------

create function durable.purge_some(
  p_statuses text[],
  p_finished_before timestamptz,
  p_limit integer,
  p_queue text default null,
  p_name text default null,
  p_created_after timestamptz default null,
  p_created_before timestamptz default null,
  p_finished_after timestamptz default null
)
returns table (purged bigint, more boolean)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_ids text[];
  v_found integer;
  v_kids text[];
  v_parents text[];
  v_locked text[];
  v_count bigint;
begin
  -- 1. the batch: finished rows no other session holds, in no particular order
  v_ids := array(
    select w.id from durable.workflows w
     where w.status in ('succeeded', 'failed', 'cancelled')
       and w.status = any (p_statuses)
       and w.finished_at < coalesce(p_finished_before, 'infinity')
       and (p_finished_after is null or w.finished_at >= p_finished_after)
       and (p_queue is null or w.queue = p_queue)
       and (p_name is null or w.name = p_name)
       and (p_created_after is null or w.created_at >= p_created_after)
       and (p_created_before is null or w.created_at < p_created_before)
       -- a family is kept while one of its members is unfinished
       and not exists (select 1 from durable.workflows p
                        where p.id = w.parent_id and p.status in ('pending', 'running', 'waiting'))
       and not exists (select 1 from durable.workflows c
                        where c.parent_id = w.id and c.status in ('pending', 'running', 'waiting'))
     limit p_limit
       for update of w skip locked);
  v_found := cardinality(v_ids);
  if v_found = 0 then
    return query select 0::bigint, false;
    return;
  end if;
  -- 2. their relatives outside the batch, without waiting: the children the delete writes
  -- (parent_id set null), the parents it must see finished until it commits (a retry of one
  -- waits); a workflow with a relative another session holds stays for a later batch
  v_kids := array(select c.id from durable.workflows c
                   where c.parent_id = any (v_ids) and c.id <> all (v_ids));
  v_parents := array(select distinct w.parent_id from durable.workflows w
                      where w.id = any (v_ids) and w.parent_id <> all (v_ids));
  if cardinality(v_kids) + cardinality(v_parents) > 0 then
    v_locked := array(select c.id from durable.workflows c
                       where c.id = any (v_kids)
                         and c.status in ('succeeded', 'failed', 'cancelled')
                         for no key update skip locked)
             || array(select p.id from durable.workflows p
                       where p.id = any (v_parents)
                         and p.status in ('succeeded', 'failed', 'cancelled')
                         for key share skip locked);
    -- the members of the batch with a relative left unlocked (or unfinished by now) stay
    v_ids := array(
      select i.id from pg_catalog.unnest(v_ids) i(id)
      except
      select c.parent_id from durable.workflows c
       where c.id = any (v_kids) and c.id <> all (v_locked)
      except
      select w.id from durable.workflows w
       where w.id = any (v_ids) and w.parent_id = any (v_parents)
         and w.parent_id <> all (v_locked));
  end if;
  delete from durable.workflows w where w.id = any (v_ids);
  get diagnostics v_count = row_count;
  return query select v_count, v_found = p_limit;
end
$$;
comment on function durable.purge_some(text[], timestamptz, integer, text, text, timestamptz,
                                       timestamptz, timestamptz) is
  'Deletes up to p_limit finished workflows of the statuses p_statuses that finished before '
  'p_finished_before and match the other filters (null: any), but none while its parent or one '
  'of its children is unfinished; every lock SKIP LOCKED (bulk.sql''s lock order). Returns how '
  'many it deleted and whether it found a full batch (more may remain). Internal.';

create function durable.purge_batch(p_older_than interval, p_limit integer default 1000)
returns table (purged bigint, more boolean)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_older_than is null or p_older_than < interval '0' then
    raise exception 'older_than must be an interval of zero or more, got %',
        coalesce(p_older_than::text, 'null')
      using errcode = 'DU011', hint = 'E.g. interval ''30 days''.';
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 10000 then
    raise exception 'limit must be between 1 and 10000, got %', coalesce(p_limit::text, 'null')
      using errcode = 'DU011', hint = 'Call again while more = true: one short transaction each.';
  end if;
  return query
  select * from durable.purge_some('{succeeded,failed,cancelled}', durable.now() - p_older_than,
                                   p_limit);
end
$$;
comment on function durable.purge_batch(interval, integer) is
  'The batch form of durable.purge: deletes up to p_limit (1..10000, default 1000) workflows '
  'that finished more than p_older_than ago, with their steps, errors, waits, messages and '
  'events (their children''s parent_id becomes null), and returns (purged, more): how many it '
  'deleted, and true when it found a full batch (call again, in a new transaction, until more '
  '= false). It takes no lock it would wait for (rows other sessions hold are left for a later '
  'call) and keeps a workflow while its parent or a child of it is unfinished. Errors: DU011 '
  '(older_than null or negative, limit out of range).';

create function durable.housekeep(p_worker text)
returns table (purged bigint, more boolean)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_settings durable.settings;
  v_login text;
  v_purged bigint := 0;
  v_more boolean := false;
begin
  if p_worker is null or p_worker = '' then
    raise exception 'worker id must not be null or empty'
      using errcode = 'DU010', hint = 'Pass the worker''s id, or a name such as ''pg_cron''.';
  end if;
  if length(p_worker) > 200 then
    raise exception 'worker id is % characters long, the limit is 200', length(p_worker)
      using errcode = 'DU011';
  end if;
  select k.login into v_login from durable.workers k where k.id = p_worker;
  if v_login is not null and v_login <> session_user then
    perform durable.refuse_worker(p_worker);
  end if;
  -- one housekeeper at a time: the others go back to their work at once
  if not pg_catalog.pg_try_advisory_xact_lock(
           pg_catalog.hashtextextended('durable.housekeep', 0)) then
    return query select 0::bigint, false;
    return;
  end if;
  select * into v_settings from durable.settings;
  if v_settings.retain_succeeded is not null then
    select p.purged, p.more into v_purged, v_more
      from durable.purge_some('{succeeded}', v_now - v_settings.retain_succeeded,
                              v_settings.purge_batch) p;
  end if;
  if v_settings.retain_failed is not null and not v_more then
    select v_purged + p.purged, p.more into v_purged, v_more
      from durable.purge_some('{failed,cancelled}', v_now - v_settings.retain_failed,
                              v_settings.purge_batch - v_purged::integer) p;
  end if;
  -- the run slots of concurrency keys with nothing running under them (a key's are made again
  -- by its next claim): a batch, skipping those a claim holds
  delete from durable.run_slots s
   where (s.queue, s.key, s.slot) in (
           select r.queue, r.key, r.slot from durable.run_slots r
            where r.key <> ''
              and not exists (select 1 from durable.workflows w
                               where w.id = r.workflow_id and w.lease = r.lease
                                 and w.status = 'running')
            limit v_settings.purge_batch
              for update skip locked);
  return query select v_purged, v_more;
end
$$;
comment on function durable.housekeep(text) is
  'Retention: deletes one batch (at most durable.settings.purge_batch) of the workflows that '
  'finished longer ago than durable.settings.retain_succeeded (succeeded ones) or retain_failed '
  '(failed and cancelled ones), as durable.purge_batch does (no lock waited for; a family is kept '
  'while a member is unfinished). Returns (purged, more): more = true when a full batch was due '
  '(call again soon, in a new transaction). Also deletes a batch of the run slots of concurrency '
  'keys with nothing running (durable.run_slots). One session at a time does the work (a transaction-'
  'scoped advisory lock): another caller meanwhile gets (0, false) at once. Both settings null '
  '(the default): nothing is deleted. Workers call it now and then; pg_cron or psql may too '
  '(p_worker: the worker id, or any name that is not another login''s worker). Errors: DU010 '
  'null or empty p_worker, DU011 over 200 characters, DU015 a worker id of another login.';

create function durable.purge_where(
  p_queue text default null,
  p_name text default null,
  p_status text[] default null,
  p_created_after timestamptz default null,
  p_created_before timestamptz default null,
  p_finished_after timestamptz default null,
  p_finished_before timestamptz default null,
  p_limit integer default 1000,
  p_dry_run boolean default false
)
returns table (purged bigint, more boolean)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_statuses text[] := coalesce(p_status, '{succeeded,failed,cancelled}');
begin
  perform durable.check_bulk(p_status, '{succeeded,failed,cancelled}', p_queue, p_name,
                             p_created_after, p_created_before, p_finished_after,
                             p_finished_before, p_limit);
  if p_dry_run then
    return query
    select count(*), false
      from durable.workflows w
     where w.status in ('succeeded', 'failed', 'cancelled')
       and w.status = any (v_statuses)
       and w.finished_at < coalesce(p_finished_before, 'infinity')
       and (p_finished_after is null or w.finished_at >= p_finished_after)
       and (p_queue is null or w.queue = p_queue)
       and (p_name is null or w.name = p_name)
       and (p_created_after is null or w.created_at >= p_created_after)
       and (p_created_before is null or w.created_at < p_created_before)
       and not exists (select 1 from durable.workflows p
                        where p.id = w.parent_id and p.status in ('pending', 'running', 'waiting'))
       and not exists (select 1 from durable.workflows c
                        where c.parent_id = w.id and c.status in ('pending', 'running', 'waiting'));
    return;
  end if;
  return query
  select * from durable.purge_some(v_statuses, p_finished_before, p_limit, p_queue, p_name,
                                   p_created_after, p_created_before, p_finished_after);
end
$$;
comment on function durable.purge_where(text, text, text[], timestamptz, timestamptz,
                                        timestamptz, timestamptz, integer, boolean) is
  'Deletes up to p_limit (1..10000, default 1000) finished workflows matching every filter '
  'given: queue, name, p_status (a subset of succeeded, failed, cancelled; default all three), '
  'created_at in [p_created_after, p_created_before), finished_at in [p_finished_after, '
  'p_finished_before); with their steps, errors, waits, messages and events. Returns (purged, '
  'more): more = true when it found a full batch (call again, in a new transaction, until '
  'false). As purge_batch, it waits for no lock and keeps a workflow while its parent or a child '
  'is unfinished. p_dry_run: returns how many match now (more = false) and deletes nothing. '
  'Errors: DU010 no filter at all (pass p_status => ''{succeeded,failed,cancelled}'' to purge '
  'every finished workflow) or null limit, DU011 limit out of range, unknown status, empty time '
  'range, DU004 unknown queue.';

-- cancel and retry ----------------------------------------------------------------------------

create function durable.cancel_where(
  p_queue text default null,
  p_name text default null,
  p_status text[] default null,
  p_created_after timestamptz default null,
  p_created_before timestamptz default null,
  p_limit integer default 1000,
  p_dry_run boolean default false
)
returns table (cancelled bigint, more boolean)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_statuses text[] := coalesce(p_status, '{pending,running,waiting}');
  v_ids text[];
  v_id text;
  v_count bigint := 0;
begin
  perform durable.check_bulk(p_status, '{pending,running,waiting}', p_queue, p_name,
                             p_created_after, p_created_before, null, null, p_limit);
  -- planned with the values given (EXECUTE, constant text): the queue leads the indexes
  if p_dry_run then
    return query execute
      'select count(*), false from durable.workflows w
        where w.status in (''pending'', ''running'', ''waiting'') and w.status = any ($1)
          and ($2::text is null or w.queue = $2) and ($3::text is null or w.name = $3)
          and ($4::timestamptz is null or w.created_at >= $4)
          and ($5::timestamptz is null or w.created_at < $5)'
      using v_statuses, p_queue, p_name, p_created_after, p_created_before;
    return;
  end if;
  -- runnable and leased rows through their partial indexes, a branch each
  execute
    'select array(select c.id from (
       (select w.id from durable.workflows w
         where w.status in (''pending'', ''waiting'') and w.status = any ($1)
           and ($2::text is null or w.queue = $2) and ($3::text is null or w.name = $3)
           and ($4::timestamptz is null or w.created_at >= $4)
           and ($5::timestamptz is null or w.created_at < $5)
         limit $6)
       union all
       (select w.id from durable.workflows w
         where w.status = ''running'' and ''running'' = any ($1)
           and ($2::text is null or w.queue = $2) and ($3::text is null or w.name = $3)
           and ($4::timestamptz is null or w.created_at >= $4)
           and ($5::timestamptz is null or w.created_at < $5)
         limit $6)
       limit $6) c order by c.id)'
    into v_ids
    using v_statuses, p_queue, p_name, p_created_after, p_created_before, p_limit;
  -- each as durable.cancel does (with its unfinished children, waking a waiting parent), in
  -- cancel_tree's lock order; one that finished meanwhile is left as it is
  foreach v_id in array v_ids loop
    if exists (select 1 from durable.workflows w
                where w.id = v_id and w.status in ('pending', 'running', 'waiting')) then
      v_count := v_count + durable.cancel_tree(v_id, null, v_now);
    end if;
  end loop;
  return query select v_count, cardinality(v_ids) = p_limit;
end
$$;
comment on function durable.cancel_where(text, text, text[], timestamptz, timestamptz, integer,
                                         boolean) is
  'Cancels up to p_limit (1..10000, default 1000) unfinished workflows matching every filter '
  'given: queue, name, p_status (a subset of pending, running, waiting; default all three), '
  'created_at in [p_created_after, p_created_before); each as durable.cancel does, with its '
  'unfinished children (not detached ones), waking a parent waiting on it. Returns (cancelled, '
  'more): how many workflows it cancelled, descendants included, and true when it found a full '
  'batch (call again, in a new transaction, until false). p_dry_run: returns how many match now '
  '(descendants not counted) and cancels nothing. Errors: DU010 no filter at all (pass p_status '
  '=> ''{pending,running,waiting}'' to cancel every unfinished workflow) or null limit, DU011 '
  'limit out of range, unknown status, empty time range, DU004 unknown queue.';

create function durable.retry_where(
  p_queue text default null,
  p_name text default null,
  p_status text[] default null,
  p_created_after timestamptz default null,
  p_created_before timestamptz default null,
  p_finished_after timestamptz default null,
  p_finished_before timestamptz default null,
  p_limit integer default 1000,
  p_dry_run boolean default false
)
returns table (retried bigint, more boolean)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_statuses text[] := coalesce(p_status, '{failed}');
  v_ids text[];
  v_count bigint;
  v_found integer;
begin
  perform durable.check_bulk(p_status, '{failed,cancelled}', p_queue, p_name,
                             p_created_after, p_created_before, p_finished_after,
                             p_finished_before, p_limit);
  if p_dry_run then
    return query
    select count(*), false
      from durable.workflows w
     where w.status in ('succeeded', 'failed', 'cancelled')
       and w.status = any (v_statuses)
       and w.finished_at < coalesce(p_finished_before, 'infinity')
       and (p_finished_after is null or w.finished_at >= p_finished_after)
       and (p_queue is null or w.queue = p_queue)
       and (p_name is null or w.name = p_name)
       and (p_created_after is null or w.created_at >= p_created_after)
       and (p_created_before is null or w.created_at < p_created_before);
    return;
  end if;
  v_ids := array(
    select w.id from durable.workflows w
     where w.status in ('succeeded', 'failed', 'cancelled')
       and w.status = any (v_statuses)
       and w.finished_at < coalesce(p_finished_before, 'infinity')
       and (p_finished_after is null or w.finished_at >= p_finished_after)
       and (p_queue is null or w.queue = p_queue)
       and (p_name is null or w.name = p_name)
       and (p_created_after is null or w.created_at >= p_created_after)
       and (p_created_before is null or w.created_at < p_created_before)
       -- a run that never started takes its deduplication key back: not while another
       -- pending run of its queue holds it (durable.retry raises DU019 for it)
       and (w.dedup_key is null or w.started_at is not null
            or not exists (select 1 from durable.workflows d
                            where d.queue = w.queue and d.dedup_key = w.dedup_key
                              and d.status = 'pending' and d.started_at is null))
     limit p_limit
       for update of w skip locked);
  v_found := cardinality(v_ids);
  -- and of several such runs with one key, one (the others match the filter above next time)
  v_ids := array(
    select x.id from (
      select w.id, w.dedup_key is null or w.started_at is not null as free,
             row_number() over (partition by w.queue, w.dedup_key, w.started_at is null
                                order by w.id) as n
        from durable.workflows w where w.id = any (v_ids)) x
     where x.free or x.n = 1);
  -- as durable.retry: a new attempt now; steps that ended in error run again, the others replay
  update durable.workflows w
     set status = 'pending', attempt = w.attempt + 1,
         max_attempts = greatest(w.max_attempts, w.attempt + 1),
         run_at = v_now, finished_at = null
   where w.id = any (v_ids);
  get diagnostics v_count = row_count;
  delete from durable.steps s where s.workflow_id = any (v_ids) and s.error is not null;
  return query select v_count, v_found = p_limit;
end
$$;
comment on function durable.retry_where(text, text, text[], timestamptz, timestamptz,
                                        timestamptz, timestamptz, integer, boolean) is
  'Retries up to p_limit (1..10000, default 1000) failed or cancelled workflows matching every '
  'filter given: queue, name, p_status (failed, cancelled or both; default failed only), '
  'created_at in [p_created_after, p_created_before), finished_at in [p_finished_after, '
  'p_finished_before); each as durable.retry does (a new attempt now; steps that ended in error '
  'run again, successful ones replay). Rows other sessions hold are left for a later call. '
  'Returns (retried, more): more = true when it found a full batch (call again, in a new '
  'transaction, until false). A run that never started and whose deduplication key another '
  'pending run of its queue holds is left as it is (see durable.retry, DU019). p_dry_run: returns '
  'how many match now and retries nothing. '
  'Errors: DU010 no filter at all or null limit, DU011 limit out of range, unknown status, empty '
  'time range, DU004 unknown queue.';

commit;
