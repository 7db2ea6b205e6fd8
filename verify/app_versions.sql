select workflow_names, version from durable.workers where false;
select version from durable.workflows where false;
select worker, login, workflow_names, version, registered_at from durable.worker_registrations where false;
select name, queue, max_attempts, backoff_base, backoff_max, max_lost_leases, version, worker,
       registered_at
  from durable.workflow_types where false;
