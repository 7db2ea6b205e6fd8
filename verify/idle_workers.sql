select idle_queues, busy from durable.workers where false;
