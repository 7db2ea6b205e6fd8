begin;
drop function durable.enqueue_batch(jsonb);
drop function durable.parse_batch(jsonb);
drop function durable.enqueue(text, jsonb, text, text, integer, timestamptz, interval, integer, interval, interval);
drop function durable.check_enqueue(text, jsonb, text, text, timestamptz, interval, integer, interval, interval);
commit;
