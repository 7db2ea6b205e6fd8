begin;
drop function durable.complete_and_claim(text, bigint, jsonb, text, text[], integer, interval, integer, text, jsonb, timestamptz);
drop function durable.fail(text, bigint, jsonb, boolean);
drop function durable.complete(text, bigint, jsonb);
drop function durable.fail_batch(text[], bigint[], jsonb[], boolean[]);
drop function durable.complete_batch(text[], bigint[], jsonb[]);
drop function durable.outcome_of(text);
drop function durable.check_batch(text[], bigint[], jsonb[], text);
commit;
