select idle_queues, busy, connections, concurrency_limit from durable.workers where false;
