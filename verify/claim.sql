select 1 / (count(*) = 2)::int from pg_catalog.pg_proc
 where oid in ('durable.claim(text, text[], integer, interval)'::regprocedure,
               'durable.recorded_steps(text)'::regprocedure);
