select 1 / count(*)
  from pg_catalog.pg_namespace
 where nspname = 'durable'
   and nspowner = 'durable_admin'::regrole;
