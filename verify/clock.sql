select 1 / count(*) from pg_catalog.pg_proc
 where oid = 'durable.now()'::regprocedure
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
