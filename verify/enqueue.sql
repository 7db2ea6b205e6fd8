select 1 / (count(*) = 4)::int from pg_catalog.pg_proc
 where oid in ('durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval, integer, interval, text, text, text, text)'::regprocedure,
               'durable.enqueue_batch(jsonb)'::regprocedure,
               'durable.parse_batch(jsonb)'::regprocedure,
               'durable.check_enqueue(text, jsonb, text, text, timestamptz, interval, integer, interval, interval, integer, interval)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
