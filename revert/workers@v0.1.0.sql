begin;
drop function durable.release(text, text[]);
drop function durable.heartbeat(text, interval);
drop function durable.touch_worker(text, interval, timestamptz, boolean);
drop function durable.worker_lock_key(text);
commit;
