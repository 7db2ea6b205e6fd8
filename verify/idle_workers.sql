select idle_queues from durable.workers where false;
