select 1 / (count(*) = 7)::int from pg_catalog.pg_proc
 where oid in ('durable.fence(text, bigint)'::regprocedure,
               'durable.check_payload(jsonb, text)'::regprocedure,
               'durable.backoff(integer, interval, interval)'::regprocedure,
               'durable.check_retry_policy(integer, interval, interval)'::regprocedure,
               'durable.uuidv7()'::regprocedure,
               'durable.uuidv7s(integer)'::regprocedure,
               'durable.lease_refusal(text, text, bigint, text, timestamptz)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
