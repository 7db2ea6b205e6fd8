begin;
drop schema durable;
commit;
