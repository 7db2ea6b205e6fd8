select trace_context from durable.workflows where false;
select 1 / (count(*) = 1)::int from pg_catalog.pg_proc
 where oid = 'durable.check_trace_context(text)'::regprocedure
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
