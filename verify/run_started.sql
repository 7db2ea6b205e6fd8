select started_at from durable.workflows where false;
