begin;
drop trigger workflows_transition on durable.workflows;
drop function durable.check_transition();
drop function durable.transition_allowed(text, text);
commit;
