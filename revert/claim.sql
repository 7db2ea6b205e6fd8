begin;
drop function durable.claim(text, text[], integer, interval);
drop function durable.recorded_steps(text);
commit;
