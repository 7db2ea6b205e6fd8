begin;
drop view durable.worker_status, durable.queue_stats, durable.timeline, durable.run_errors,
  durable.run_steps, durable.runs;
commit;
