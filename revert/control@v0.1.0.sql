begin;
drop function durable.purge(interval);
drop function durable.set_queue(text, integer, boolean);
drop function durable.result(text);
drop function durable.retry(text);
drop function durable.cancel(text);
commit;
