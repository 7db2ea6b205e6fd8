select 1 / (count(*) = 6)::int from pg_catalog.pg_proc
 where oid in ('durable.release(text, text[])'::regprocedure,
               'durable.heartbeat(text, interval, integer, integer, integer)'::regprocedure,
               'durable.worker_lock_key(text)'::regprocedure,
               'durable.touch_worker(text, interval, timestamptz, boolean)'::regprocedure,
               'durable.refuse_worker(text)'::regprocedure,
               'durable.adopt_workflows(text)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
