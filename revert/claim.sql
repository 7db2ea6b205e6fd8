begin;
drop function durable.claim(text, text[], integer, interval);
commit;
