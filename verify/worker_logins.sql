-- worker_logins: durable.workers.login exists, as text
select 1 / (count(*) = 1)::int from pg_catalog.pg_attribute
 where attrelid = 'durable.workers'::regclass and attname = 'login'
   and atttypid = 'pg_catalog.text'::regtype and not attisdropped;
