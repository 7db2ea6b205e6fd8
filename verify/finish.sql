select 1 / (count(*) = 7)::int from pg_catalog.pg_proc
 where oid in ('durable.complete_and_claim(text, bigint, jsonb, text, text[], integer, interval, integer, text, jsonb, timestamptz)'::regprocedure,
               'durable.fail(text, bigint, jsonb, boolean)'::regprocedure,
               'durable.complete(text, bigint, jsonb)'::regprocedure,
               'durable.fail_batch(text[], bigint[], jsonb[], boolean[])'::regprocedure,
               'durable.complete_batch(text[], bigint[], jsonb[])'::regprocedure,
               'durable.outcome_of(text, bigint)'::regprocedure,
               'durable.check_batch(text[], bigint[], jsonb[], text)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
