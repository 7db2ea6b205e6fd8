select 1 / (count(*) = 4)::int from pg_catalog.pg_proc
 where oid in ('durable.step_failed(text, bigint, integer, text, jsonb, integer, interval, interval, timestamptz)'::regprocedure,
               'durable.checkpoint(text, bigint, integer, text, jsonb, jsonb, timestamptz)'::regprocedure,
               'durable.check_step(integer, text)'::regprocedure,
               'durable.record_step(text, bigint, integer, text, jsonb, jsonb, timestamptz, timestamptz)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
-- v0.2.0: step_failed returns retry_in_seconds
select 1 / (count(*) = 1)::int from pg_catalog.pg_proc
 where oid = 'durable.step_failed(text, bigint, integer, text, jsonb, integer, interval, interval, timestamptz)'::regprocedure
   and 'retry_in_seconds' = any (proargnames);
