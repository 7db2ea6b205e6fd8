-- lock_timeouts reverted: the worker functions wait for locks as the session says again.
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
                         'register')
  loop
    execute pg_catalog.format('alter function %s reset lock_timeout', v_function);
  end loop;
end
$$;

commit;
