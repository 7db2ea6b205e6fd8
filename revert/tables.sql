begin;
drop table durable.workers, durable.errors, durable.steps, durable.workflows, durable.queues,
  durable.settings;
drop sequence durable.lease_seq;
commit;
