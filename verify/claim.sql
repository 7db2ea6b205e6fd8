select 1 / (count(*) = 5)::int from pg_catalog.pg_proc
 where oid in ('durable.claim(text, text[], integer, interval)'::regprocedure,
               'durable.claim_for(text, text[], integer, timestamptz)'::regprocedure,
               'durable.check_claim(text[], integer, integer)'::regprocedure,
               'durable.lock_queues(text[])'::regprocedure,
               'durable.recorded_steps(text)'::regprocedure);
