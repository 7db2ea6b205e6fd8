-- schedules reverted: the schedules, their view and functions go (the workflows they started stay)
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop view durable.schedule_status;
drop function durable.materialize_schedules(integer);
drop function durable.drop_schedule(text);
drop function durable.trigger_schedule(text);
drop function durable.resume_schedule(text);
drop function durable.pause_schedule(text);
drop function durable.lock_schedule(text);
drop function durable.set_schedule(text, text, text, jsonb, text, text, text, boolean, interval);
drop function durable.schedule_tick_id(text, timestamptz);
drop function durable.cron_next(text, text, timestamptz);
drop function durable.check_time_zone(text);
drop function durable.cron_last_tick(bigint[], text, timestamptz, timestamptz);
drop function durable.cron_next_tick(bigint[], text, timestamptz);
drop function durable.tz_transition(text, timestamptz, timestamptz);
drop function durable.tz_offset(text, timestamptz);
drop function durable.cron_match(bigint[], timestamp, timestamp);
drop function durable.cron_parse(text);
drop function durable.cron_field(text, text, integer, integer, text[], integer);
drop table durable.schedules;

commit;
