select 1 / (count(*) = 6)::int from pg_catalog.pg_class
 where relnamespace = 'durable'::regnamespace and relkind = 'v'
   and relname in ('runs', 'run_steps', 'run_errors', 'timeline', 'queue_stats', 'worker_status');
