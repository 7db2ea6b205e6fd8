select 1 / (count(*) = 3)::int from pg_catalog.pg_proc
 where oid in ('durable.fence(text, bigint)'::regprocedure,
               'durable.check_payload(jsonb, text)'::regprocedure,
               'durable.backoff(integer, interval, interval)'::regprocedure);
