-- privileges (v0.2.0) reverted: exactly the v0.1.0 grants (to the default roles) again.
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
  -- (durable.heartbeat: revert/workers.sql grants the v0.1.0 signature when it recreates it)
  durable.release(text, text[]),
  durable.result(text)
  to durable_worker;

grant execute on function
  -- (durable.enqueue: revert/enqueue.sql grants the v0.1.0 signature when it recreates it)
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
