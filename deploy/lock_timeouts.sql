-- lock_timeouts: a worker never waits unboundedly behind another session's lock.
--
-- A client that runs `begin; select durable.cancel(id);` and then sits idle holds the workflow's
-- row lock until it ends its transaction; without a bound, the worker's next checkpoint waited
-- for it forever. Every function a worker calls runs with lock_timeout = 2s: after 2 seconds of
-- waiting for a row, queue or advisory lock it raises 55P03 (lock_not_available), writes
-- nothing, and the caller retries (the Python worker retries a bounded number of times, then
-- drops the run, which its heartbeat hands back). Client functions keep the session's setting.
--
-- The setting is attached by name to every signature of those functions, so this change must
-- stay after the changes that (re)create them: CREATE OR REPLACE FUNCTION resets a function's
-- settings to those in its definition, so a later rework of a worker function must be followed
-- by a rework of this change.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

do $$
declare
  v_function regprocedure;
begin
  for v_function in
    select p.oid::regprocedure from pg_catalog.pg_proc p
     where p.pronamespace = 'durable'::regnamespace
       and p.proname in ('claim', 'checkpoint', 'step_failed', 'complete', 'complete_batch',
                         'complete_and_claim', 'fail', 'fail_batch', 'heartbeat', 'release',
                         'register', 'sleep', 'recv', 'await_event', 'await_children',
                         'send_step', 'set_event', 'start_child',
                         'start_children',
                         'materialize_schedules', 'housekeep')
  loop
    execute pg_catalog.format('alter function %s set lock_timeout = %L', v_function, '2s');
  end loop;
end
$$;

commit;
