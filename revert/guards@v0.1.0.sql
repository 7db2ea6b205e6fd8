begin;
drop function durable.check_retry_policy(integer, interval, interval);
drop function durable.backoff(integer, interval, interval);
drop function durable.check_payload(jsonb, text);
drop function durable.fence(text, bigint);
commit;
