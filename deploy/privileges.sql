-- privileges (v0.2.0): functions are the only door, and the grants are exactly these.
--
-- First every privilege on the schema and its objects held by anyone but the owner is revoked
-- (so a deploy with another role_prefix leaves the default roles nothing here, and a grant
-- removed from this file is removed from the database); then, per role of the prefix:
--   <prefix>_worker          claim, checkpoint, step_failed, complete(_batch, _and_claim),
--                            fail(_batch), heartbeat, release, register, result, and the
--                            steps of waiting.sql: sleep, recv, await_event, await_children,
--                            send_step, set_event, start_child; every view
--   <prefix>_client          enqueue(_batch), result, cancel, retry, send, get_event, watch;
--                            every view
--   <prefix>_observer        the views without payloads: runs_meta, run_steps_meta,
--                            run_errors_meta, timeline_meta, queue_stats, worker_status,
--                            run_waits, messages_meta, events_meta
--   <prefix>_payload_reader  every view, payloads (inputs, outputs, errors) included
-- and list_runs to the roles that read durable.runs, list_runs_meta to all four;
-- and all of them may call durable.version() and durable.now() (which durable.worker_status
-- reads the time from), durable.shard_key() and durable.shard_info() (sharding).
-- Internal helpers (fence, check_*, record_step, touch_worker, ...) stay with the owner; the
-- SECURITY DEFINER functions call them as the owner.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
\set durable_worker :role_prefix '_worker'
\set durable_client :role_prefix '_client'
\set durable_observer :role_prefix '_observer'
\set durable_payload_reader :role_prefix '_payload_reader'
begin;

do $$
declare
  v_grantee text;
begin
  for v_grantee in
    select distinct a.grantee::regrole::text
      from (select (pg_catalog.aclexplode(c.relacl)).grantee, c.relowner as owner
              from pg_catalog.pg_class c where c.relnamespace = 'durable'::regnamespace
            union all
            select (pg_catalog.aclexplode(p.proacl)).grantee, p.proowner
              from pg_catalog.pg_proc p where p.pronamespace = 'durable'::regnamespace
            union all
            select (pg_catalog.aclexplode(n.nspacl)).grantee, n.nspowner
              from pg_catalog.pg_namespace n where n.nspname = 'durable') a
     where a.grantee <> 0 and a.grantee <> a.owner
  loop
    execute pg_catalog.format('revoke all on all tables in schema durable from %s', v_grantee);
    execute pg_catalog.format('revoke all on all sequences in schema durable from %s', v_grantee);
    execute pg_catalog.format('revoke all on all functions in schema durable from %s', v_grantee);
    execute pg_catalog.format('revoke all on schema durable from %s', v_grantee);
  end loop;
end
$$;

revoke all on all tables in schema durable from public;
revoke all on all sequences in schema durable from public;
revoke execute on all functions in schema durable from public;
-- not `in schema durable`: a per-schema default can only add to the global defaults, never take
-- away from them, so only the global form keeps functions added later closed to PUBLIC
alter default privileges for role :"durable_admin"
  revoke execute on functions from public;
-- With another prefix, the entry v0.1.0's privileges change made for durable_admin is dropped
-- (granting the default back deletes it): it would keep this database depending on that role.
select pg_catalog.set_config('durable.admin_role', :'durable_admin', true) \g /dev/null
do $$
begin
  if pg_catalog.current_setting('durable.admin_role') <> 'durable_admin'
     and exists (select 1 from pg_catalog.pg_default_acl d
                  where d.defaclrole = 'durable_admin'::regrole and d.defaclnamespace = 0
                    and d.defaclobjtype = 'f') then
    alter default privileges for role durable_admin grant execute on functions to public;
  end if;
end
$$;

grant usage on schema durable
  to :"durable_worker", :"durable_client", :"durable_observer", :"durable_payload_reader";

grant execute on function
  durable.claim(text, text[], integer, interval),
  durable.checkpoint(text, bigint, integer, text, jsonb, jsonb, timestamptz),
  durable.step_failed(text, bigint, integer, text, jsonb, integer, interval, interval, timestamptz),
  durable.complete(text, bigint, jsonb),
  durable.complete_batch(text[], bigint[], jsonb[]),
  durable.complete_and_claim(text, bigint, jsonb, text, text[], integer, interval, integer, text, jsonb, timestamptz),
  durable.fail(text, bigint, jsonb, boolean),
  durable.fail_batch(text[], bigint[], jsonb[], boolean[]),
  durable.heartbeat(text, interval, integer, integer, integer),
  durable.release(text, text[]),
  durable.register(text, jsonb, text, interval),
  durable.result(text),
  durable.sleep(text, bigint, integer, interval, timestamptz, text),
  durable.recv(text, bigint, integer, text, interval, text),
  durable.await_event(text, bigint, integer, text, text, interval, text),
  durable.await_children(text, bigint, integer, text[], interval, text),
  durable.send_step(text, bigint, integer, text, jsonb, text, text),
  durable.set_event(text, bigint, integer, text, jsonb, text),
  durable.start_child(text, bigint, integer, text, jsonb, text, text, integer, interval, boolean, text, text),
  durable.start_children(text, bigint, integer, jsonb, text, text)
  to :"durable_worker";

grant execute on function
  durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval, integer, interval, text, text, text, text),
  durable.enqueue_batch(jsonb),
  durable.result(text),
  durable.cancel(text),
  durable.retry(text),
  durable.send(text, jsonb, text, text),
  durable.get_event(text, text),
  durable.watch(text),
  durable.fork(text, integer, text, text)
  to :"durable_client";

-- schedules (issue 11): grants of deploy/schedules.sql's functions and views
-- workers materialize due ticks; creating, pausing, resuming, triggering and dropping a schedule
-- is the client's (a schedule is a standing enqueue: no more than enqueue and cancel allow);
-- cron_next is a calculator every role may use; every role reads schedule_status (no input)
grant execute on function durable.materialize_schedules(integer) to :"durable_worker";
grant execute on function
  durable.set_schedule(text, text, text, jsonb, text, text, text, boolean, interval),
  durable.pause_schedule(text),
  durable.resume_schedule(text),
  durable.trigger_schedule(text),
  durable.drop_schedule(text)
  to :"durable_client";
grant execute on function durable.cron_next(text, text, timestamptz)
  to :"durable_worker", :"durable_client", :"durable_observer", :"durable_payload_reader";
grant select on durable.schedule_status
  to :"durable_worker", :"durable_client", :"durable_observer", :"durable_payload_reader";

-- bulk (issue 11): grants of deploy/bulk.sql's functions and views
-- housekeeping (retention) is the workers'; purge_batch and the bulk operations by filter
-- (cancel_where, retry_where, purge_where) stay the owner's, as purge and set_queue: they act on
-- every workflow of a queue or status at once and delete history, an operator's decision
grant execute on function durable.housekeep(text) to :"durable_worker";

-- listing (issue 12): list_runs reads durable.runs (payloads) and is granted where that view
-- is; list_runs_meta reads durable.runs_meta and is granted to every role; index_inputs (builds
-- or drops an index every enqueue maintains) stays the owner's
grant execute on function
  durable.list_runs(text[], text, text, timestamptz, timestamptz, timestamptz, timestamptz, jsonb, text, text, timestamptz, integer)
  to :"durable_worker", :"durable_client", :"durable_payload_reader";
grant execute on function
  durable.list_runs_meta(text[], text, text, timestamptz, timestamptz, timestamptz, timestamptz, text, text, timestamptz, integer)
  to :"durable_observer", :"durable_worker", :"durable_client", :"durable_payload_reader";

grant select on durable.runs, durable.run_steps, durable.run_errors, durable.timeline,
  durable.queue_stats, durable.worker_status, durable.run_waits, durable.run_messages,
  durable.run_events, durable.messages_meta, durable.events_meta
  to :"durable_worker", :"durable_client", :"durable_payload_reader";
grant select on durable.runs_meta, durable.run_steps_meta, durable.run_errors_meta,
  durable.timeline_meta, durable.queue_stats, durable.worker_status, durable.run_waits,
  durable.messages_meta, durable.events_meta
  to :"durable_observer", :"durable_worker", :"durable_client", :"durable_payload_reader";
-- dashboard (issue 13): failure counts per day, no payload, for the roles that read
grant execute on function durable.failures_per_day(integer)
  to :"durable_observer", :"durable_payload_reader";
-- durable.worker_status calls durable.now(), and the functions a view calls are checked against
-- the role that reads the view, not the view's owner
grant execute on function durable.now(), durable.version()
  to :"durable_observer", :"durable_worker", :"durable_client", :"durable_payload_reader";
-- sharding (issue 14): the routing rule and this shard's identity, for routers and clients
grant execute on function durable.shard_key(text), durable.shard_info()
  to :"durable_observer", :"durable_worker", :"durable_client", :"durable_payload_reader";

commit;
