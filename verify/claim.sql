select 1 / (count(*) = 4)::int from pg_catalog.pg_proc
 where oid in ('durable.claim(text, text[], integer, interval)'::regprocedure,
               'durable.take_work(text, text[], integer, interval, boolean, text, bigint, jsonb, integer, text, jsonb, timestamptz)'::regprocedure,
               'durable.check_claim(text[], integer, integer)'::regprocedure,
               'durable.recorded_steps(text)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
