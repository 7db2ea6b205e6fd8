select 1 / (count(*) = 4)::int from pg_catalog.pg_proc
 where oid in ('durable.claim(text, text[], integer, interval)'::regprocedure,
               'durable.take_work(text, text[], integer, interval, boolean, text, bigint, jsonb, integer, text, jsonb, timestamptz)'::regprocedure,
               'durable.check_claim(text[], integer, integer)'::regprocedure,
               'durable.recorded_steps(text)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
select 1 / (count(*) = 4)::int from pg_catalog.pg_proc
 where oid in ('durable.take_slots(text, text, integer, integer)'::regprocedure,
               'durable.prepare_slots(text, text, integer)'::regprocedure,
               'durable.settings_max_running()'::regprocedure,
               'durable.workflows_key_slots()'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
select 1 / (count(*) = 2)::int from pg_catalog.pg_trigger
 where tgname in ('settings_max_running', 'workflows_key_slots') and not tgisinternal;
