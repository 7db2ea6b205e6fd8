-- privileges: functions are the only door.
--
-- Nobody but durable_admin (the owner) touches a table. EXECUTE is revoked from PUBLIC on every
-- function, then granted per role:
--   durable_worker    claim, checkpoint, step_failed, complete(_batch, _and_claim),
--                     fail(_batch), heartbeat, release, result; reads the views
--   durable_client    enqueue(_batch), result, cancel, retry; reads the views
--   durable_observer  reads the views
-- and all three may call durable.now(), which durable.worker_status reads the time from.
-- Internal helpers (fence, check_*, record_step, touch_worker, ...) stay with the owner; the
-- SECURITY DEFINER functions call them as the owner.
begin;

revoke all on all tables in schema durable from public;
revoke all on all sequences in schema durable from public;
revoke execute on all functions in schema durable from public;
-- not `in schema durable`: a per-schema default can only add to the global defaults, never take
-- away from them, so only the global form keeps functions added later closed to PUBLIC
alter default privileges for role durable_admin
  revoke execute on functions from public;

grant usage on schema durable to durable_worker, durable_client, durable_observer;

grant execute on function
  durable.claim(text, text[], integer, interval),
  durable.checkpoint(text, bigint, integer, text, jsonb, jsonb, timestamptz),
  durable.step_failed(text, bigint, integer, text, jsonb, integer, interval, interval, timestamptz),
  durable.complete(text, bigint, jsonb),
  durable.complete_batch(text[], bigint[], jsonb[]),
  durable.complete_and_claim(text, bigint, jsonb, text, text[], integer, interval, integer, text, jsonb, timestamptz),
  durable.fail(text, bigint, jsonb, boolean),
  durable.fail_batch(text[], bigint[], jsonb[], boolean[]),
  durable.heartbeat(text, interval),
  durable.release(text, text[]),
  durable.result(text)
  to durable_worker;

grant execute on function
  durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval),
  durable.enqueue_batch(jsonb),
  durable.result(text),
  durable.cancel(text),
  durable.retry(text)
  to durable_client;

grant select on durable.runs, durable.run_steps, durable.run_errors, durable.timeline,
  durable.queue_stats, durable.worker_status
  to durable_observer, durable_worker, durable_client;
-- durable.worker_status calls durable.now(), and the functions a view calls are checked against
-- the role that reads the view, not the view's owner
grant execute on function durable.now() to durable_observer, durable_worker, durable_client;

commit;
