begin;
drop function durable.release(text, text[]);
drop function durable.heartbeat(text, interval);
drop function durable.touch_worker(text, interval, timestamptz, boolean);
commit;
