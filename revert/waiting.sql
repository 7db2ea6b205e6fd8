-- waiting reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop trigger workflows_notify_finished on durable.workflows;
drop function durable.family_lock(text);
drop function durable.message_lock(text, text);
drop function durable.event_lock(text, text);
drop function durable.check_name(text, text);
drop function durable.check_timeout(interval, text);
drop function durable.wake(text, timestamptz);
drop function durable.wake_parent(text, text, timestamptz);
drop function durable.child_finished(text, timestamptz);
drop function durable.lock_run(text, bigint, timestamptz);
drop function durable.recorded_outcome(text, integer, text);
drop function durable.wait_step(text, bigint, integer, text, text, text, text, text[], timestamptz, interval);
drop function durable.children_outcome(text[]);
drop function durable.sleep(text, bigint, integer, interval, timestamptz, text);
drop function durable.recv(text, bigint, integer, text, interval, text);
drop function durable.await_event(text, bigint, integer, text, text, interval, text);
drop function durable.await_children(text, bigint, integer, text[], interval, text);
drop function durable.deliver(text, jsonb, text, text, text, timestamptz);
drop function durable.send(text, jsonb, text, text);
drop function durable.send_step(text, bigint, integer, text, jsonb, text, text);
drop function durable.set_event(text, bigint, integer, text, jsonb, text);
drop function durable.start_child(text, bigint, integer, text, jsonb, text, text, integer, interval, boolean, text, text);
drop function durable.get_event(text, text);
drop function durable.watch(text);
drop function durable.start_children(text, bigint, integer, jsonb, text, text);
drop function durable.notify_pending_again(text);
drop function durable.notify_finished();
drop function durable.cancel_tree(text, jsonb, timestamptz);
drop function durable.expire_deadlines(timestamptz, integer);

commit;
