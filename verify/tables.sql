select 1 / (count(*) = 6)::int
  from pg_catalog.pg_class
 where relnamespace = 'durable'::regnamespace
   and relkind = 'r'
   and relname in ('settings', 'queues', 'workflows', 'steps', 'errors', 'workers');
select 1 / count(*) from pg_catalog.pg_class where oid = 'durable.lease_seq'::regclass;
