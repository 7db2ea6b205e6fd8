select 1 / (count(*) = 2)::int from pg_catalog.pg_trigger
 where tgrelid = 'durable.workflows'::regclass
   and tgname in ('workflows_notify_insert', 'workflows_notify_pending');
select 1 / (count(*) = 2)::int from pg_catalog.pg_proc
 where oid in ('durable.notify_inserted()'::regprocedure, 'durable.notify_pending()'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
