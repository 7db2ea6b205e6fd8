begin;
drop function durable.claim(text, text[], integer, interval);
drop function durable.take_work(text, text[], integer, interval, boolean, text, bigint, jsonb, integer, text, jsonb, timestamptz);
drop function durable.check_claim(text[], integer, integer);
drop function durable.recorded_steps(text);
commit;
