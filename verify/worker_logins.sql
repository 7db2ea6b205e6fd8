-- worker_logins: durable.workers.login and durable.workflows.owner_login exist, as text
select 1 / (count(*) = 2)::int from pg_catalog.pg_attribute
 where ((attrelid = 'durable.workers'::regclass and attname = 'login')
        or (attrelid = 'durable.workflows'::regclass and attname = 'owner_login'))
   and atttypid = 'pg_catalog.text'::regtype and not attisdropped;
