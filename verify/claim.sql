select 1 / count(*) from pg_catalog.pg_proc
 where oid = 'durable.claim(text, text[], integer, interval)'::regprocedure;
