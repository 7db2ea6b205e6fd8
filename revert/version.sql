-- version reverted
begin;
drop function durable.version();
commit;
