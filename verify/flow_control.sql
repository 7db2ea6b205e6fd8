select rate_limit, rate_period, key_concurrency from durable.queues where false;
select queue, slot, at from durable.queue_starts where false;
select concurrency_key, dedup_key, forked_from, forked_at from durable.workflows where false;
select queue, key, slot, workflow_id, lease from durable.run_slots where false;
select max_running from durable.settings where false;
