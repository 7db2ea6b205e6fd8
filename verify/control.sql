select 1 / (count(*) = 5)::int from pg_catalog.pg_proc
 where oid in ('durable.purge(interval)'::regprocedure,
               'durable.set_queue(text, integer, boolean, integer, interval, integer)'::regprocedure,
               'durable.result(text)'::regprocedure,
               'durable.retry(text)'::regprocedure,
               'durable.cancel(text)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
