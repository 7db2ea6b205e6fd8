select 1 / (count(*) = 10)::int from pg_catalog.pg_class
 where relnamespace = 'durable'::regnamespace and relkind = 'v'
   and relname in ('runs', 'run_steps', 'run_errors', 'timeline', 'queue_stats', 'worker_status',
                   'runs_meta', 'run_steps_meta', 'run_errors_meta', 'timeline_meta');
