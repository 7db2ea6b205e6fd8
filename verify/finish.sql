select 1 / (count(*) = 6)::int from pg_catalog.pg_proc
 where oid in ('durable.fail(text, bigint, jsonb, boolean)'::regprocedure,
               'durable.complete(text, bigint, jsonb)'::regprocedure,
               'durable.fail_batch(text[], bigint[], jsonb[], boolean[])'::regprocedure,
               'durable.complete_batch(text[], bigint[], jsonb[])'::regprocedure,
               'durable.outcome_of(text)'::regprocedure,
               'durable.check_batch(text[], bigint[], jsonb[], text)'::regprocedure);
