-- schedules: the table, the view and every function, hardened
select 1 / (count(*) = 17)::int from pg_catalog.pg_proc
 where oid in (
               'durable.cron_field(text, text, integer, integer, text[], integer)'::regprocedure,
               'durable.cron_parse(text)'::regprocedure,
               'durable.cron_match(bigint[], timestamp, timestamp)'::regprocedure,
               'durable.tz_offset(text, timestamptz)'::regprocedure,
               'durable.tz_transition(text, timestamptz, timestamptz)'::regprocedure,
               'durable.cron_next_tick(bigint[], text, timestamptz)'::regprocedure,
               'durable.cron_last_tick(bigint[], text, timestamptz, timestamptz)'::regprocedure,
               'durable.check_time_zone(text)'::regprocedure,
               'durable.cron_next(text, text, timestamptz)'::regprocedure,
               'durable.schedule_tick_id(text, timestamptz)'::regprocedure,
               'durable.set_schedule(text, text, text, jsonb, text, text, text, boolean, interval)'::regprocedure,
               'durable.lock_schedule(text)'::regprocedure,
               'durable.pause_schedule(text)'::regprocedure,
               'durable.resume_schedule(text)'::regprocedure,
               'durable.trigger_schedule(text)'::regprocedure,
               'durable.drop_schedule(text)'::regprocedure,
               'durable.materialize_schedules(integer)'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
select 1 / count(*)::int from pg_catalog.pg_class
 where oid = 'durable.schedules'::regclass;
select 1 / count(*)::int from pg_catalog.pg_class
 where oid = 'durable.schedule_status'::regclass;
