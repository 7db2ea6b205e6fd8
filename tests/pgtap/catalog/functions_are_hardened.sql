-- Every function of schema durable pins its search_path to pg_catalog, pg_temp (pg_temp last:
-- an empty path would search the caller's temporary schema first); exactly the public functions
-- (those granted to a role, except the clock) are SECURITY DEFINER; the catalog lists exactly
-- the functions, tables and views the suite knows about, so a new one needs a decision here.
begin;
select plan(5);

select is_empty(
  $$ select p.oid::regprocedure from pg_proc p
      where p.pronamespace = 'durable'::regnamespace
        and ((select count(*) from unnest(p.proconfig) c where c like 'search_path=%')
             is distinct from 1
             or not coalesce('search_path=pg_catalog, pg_temp' = any (p.proconfig), false)) $$,
  'every function of schema durable has set search_path = pg_catalog, pg_temp');

select set_eq(
  $$ select p.proname::text from pg_proc p
      where p.pronamespace = 'durable'::regnamespace and p.prosecdef $$,
  $$ values ('claim'), ('checkpoint'), ('step_failed'), ('complete'), ('complete_batch'), ('complete_and_claim'), ('fail'),
            ('fail_batch'), ('heartbeat'), ('release'), ('register'), ('result'), ('enqueue'), ('enqueue_batch'),
            ('cancel'), ('retry'), ('set_queue'), ('purge'), ('sleep'), ('recv'), ('await_event'),
            ('purge_batch'), ('housekeep'), ('purge_where'), ('cancel_where'), ('retry_where'),
            ('await_children'), ('send_step'), ('set_event'), ('start_child'), ('send'),
            ('get_event'), ('watch'), ('fork'), ('start_children'),
            ('cron_next'), ('set_schedule'), ('pause_schedule'), ('resume_schedule'),
            ('trigger_schedule'), ('drop_schedule'), ('materialize_schedules'),
            ('failures_per_day'), ('list_runs'), ('list_runs_meta'), ('shard_info'), ('set_shard') $$,
  'exactly the public functions are SECURITY DEFINER');

select functions_are('durable', array[
  -- public
  'claim', 'checkpoint', 'step_failed', 'complete', 'complete_batch', 'complete_and_claim', 'fail', 'fail_batch',
  'heartbeat', 'release', 'register', 'result', 'enqueue', 'enqueue_batch', 'cancel', 'retry', 'set_queue',
  'purge', 'now', 'version', 'sleep', 'recv', 'await_event', 'await_children', 'send_step',
  'purge_batch', 'housekeep', 'purge_where', 'cancel_where', 'retry_where',
  'set_event', 'start_child', 'send', 'get_event', 'watch', 'fork', 'start_children',
  'cron_next', 'set_schedule', 'pause_schedule', 'resume_schedule', 'trigger_schedule',
  'drop_schedule', 'materialize_schedules', 'failures_per_day', 'list_runs', 'list_runs_meta',
  'index_inputs', 'shard_key', 'shard_info', 'set_shard',
  -- internal
  'transition_allowed', 'check_transition', 'notify_inserted', 'notify_pending', 'fence',
  'check_payload', 'backoff', 'check_retry_policy', 'check_enqueue', 'parse_batch', 'recorded_steps', 'take_work', 'check_claim', 'touch_worker', 'refuse_worker', 'adopt_workflows', 'worker_lock_key', 'record_step',
  'check_step', 'check_batch', 'outcome_of', 'family_lock', 'message_lock', 'event_lock',
  'check_name', 'check_timeout', 'wake', 'wake_parent', 'child_finished', 'lock_run',
  'recorded_outcome', 'wait_step', 'children_outcome', 'deliver', 'notify_finished',
  'cancel_tree', 'expire_deadlines', 'notify_pending_again', 'pick_by_key', 'take_slots', 'prepare_slots', 'settings_max_running', 'workflows_key_slots', 'check_keys', 'dedup_refusal',
  'check_trace_context',
  'check_filters', 'check_bulk', 'purge_some', 'check_list', 'list_runs_where',
  'insert_batch', 'uuidv7', 'uuidv7s', 'lease_refusal',
  'cron_field', 'cron_parse', 'cron_match', 'tz_offset', 'tz_transition', 'cron_next_tick',
  'cron_last_tick', 'check_time_zone', 'schedule_tick_id', 'lock_schedule'],
  'schema durable has exactly the known functions');
select tables_are('durable', array['workflows', 'steps', 'errors', 'queues', 'workers', 'settings',
                                   'workflow_types', 'worker_registrations', 'waits', 'messages', 'queue_starts', 'run_slots',
                                   'events', 'schedules', 'shard_config'],
  'schema durable has exactly the known tables');
select views_are('durable', array['runs', 'run_steps', 'run_errors', 'timeline', 'queue_stats', 'worker_status',
                                  'runs_meta', 'run_steps_meta', 'run_errors_meta', 'timeline_meta',
                                  'run_waits', 'run_messages', 'run_events', 'messages_meta',
                                  'events_meta', 'schedule_status'],
  'schema durable has exactly the known views');

select * from finish();
rollback;
