select 1 / (count(*) = 15)::int from pg_catalog.pg_class
 where relnamespace = 'durable'::regnamespace and relkind = 'v'
   and relname in ('runs', 'run_steps', 'run_errors', 'timeline', 'queue_stats', 'worker_status',
                   'runs_meta', 'run_steps_meta', 'run_errors_meta', 'timeline_meta',
                   'run_waits', 'run_messages', 'run_events', 'messages_meta', 'events_meta');
select parent_id, deadline, waiting_for, waiting_since from durable.runs where false;
-- dashboard (issue 13): failures per day and its index
select 'durable.failures_per_day(integer)'::regprocedure;
select 1 / (count(*) = 1)::int from pg_catalog.pg_indexes
 where schemaname = 'durable' and indexname = 'errors_step_created';
