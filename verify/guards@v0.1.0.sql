select 1 / (count(*) = 4)::int from pg_catalog.pg_proc
 where oid in ('durable.fence(text, bigint)'::regprocedure,
               'durable.check_payload(jsonb, text)'::regprocedure,
               'durable.backoff(integer, interval, interval)'::regprocedure,
               'durable.check_retry_policy(integer, interval, interval)'::regprocedure);
