begin;
drop function durable.now();
commit;
