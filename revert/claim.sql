begin;
drop function durable.claim(text, text[], integer, interval);
drop function durable.claim_for(text, text[], integer, timestamptz);
drop function durable.check_claim(text[], integer, integer);
drop function durable.lock_queues(text[]);
drop function durable.recorded_steps(text);
commit;
