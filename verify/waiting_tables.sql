select parent_id, detached, deadline, watched from durable.workflows where false;
select timeout from durable.workflow_types where false;
select workflow_id, step_id, name, kind, topic, target, children, deadline, created_at,
       parked_at, woken_at, resolved_at, outcome from durable.waits where false;
select id, workflow_id, topic, message, idempotency_key, sender, created_at, consumed_at,
       consumed_step from durable.messages where false;
select id, workflow_id, key, value, step_id, created_at from durable.events where false;
