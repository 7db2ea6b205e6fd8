begin;
drop trigger workflows_notify_pending on durable.workflows;
drop trigger workflows_notify_insert on durable.workflows;
drop function durable.notify_pending();
drop function durable.notify_inserted();
commit;
