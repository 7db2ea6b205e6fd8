begin;
drop function durable.step_failed(text, bigint, integer, text, jsonb, integer, interval, interval, timestamptz);
drop function durable.checkpoint(text, bigint, integer, text, jsonb, jsonb, timestamptz);
drop function durable.check_step(integer, text);
drop function durable.record_step(text, bigint, integer, text, jsonb, jsonb, timestamptz, timestamptz);
commit;
