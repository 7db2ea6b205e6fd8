select 1 / count(*) from pg_catalog.pg_proc
 where oid = 'durable.now()'::regprocedure;
