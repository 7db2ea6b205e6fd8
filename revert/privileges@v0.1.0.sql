begin;

revoke select on durable.runs, durable.run_steps, durable.run_errors, durable.timeline,
  durable.queue_stats, durable.worker_status
  from durable_observer, durable_worker, durable_client;
revoke execute on all functions in schema durable
  from durable_worker, durable_client, durable_observer;
revoke usage on schema durable from durable_worker, durable_client, durable_observer;
alter default privileges for role durable_admin
  grant execute on functions to public;
grant execute on all functions in schema durable to public;

commit;
