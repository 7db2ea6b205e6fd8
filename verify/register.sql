select 1 / (count(*) = 1)::int from pg_catalog.pg_proc
 where oid = 'durable.register(text, jsonb, text, interval)'::regprocedure
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
