select 1 / count(*) from pg_catalog.pg_trigger
 where tgname = 'workflows_transition' and tgrelid = 'durable.workflows'::regclass;
select 1 / count(*) from pg_catalog.pg_proc
 where oid = 'durable.transition_allowed(text, text)'::regprocedure
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
