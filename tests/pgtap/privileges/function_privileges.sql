-- EXECUTE per role on every public function (function_privs_are): durable_worker may claim,
-- checkpoint, step_failed, complete(_batch, _and_claim), fail(_batch), heartbeat, release and result;
-- durable_client may enqueue(_batch), result, cancel and retry; durable_observer none of them.
-- The steps of waiting (sleep, recv, await_event, await_children, send_step, set_event,
-- start_child) are the worker's; send, get_event and watch the client's.
-- All three may call durable.now() (durable.worker_status reads it). set_queue and purge are
-- the owner's.
begin;
select plan(150);

create temp table fns (name text, args text[], worker boolean, client boolean, observer boolean);
insert into fns values
  ('claim', '{text,text[],integer,interval}', true, false, false),
  ('checkpoint', '{text,bigint,integer,text,jsonb,jsonb,timestamp with time zone}', true, false, false),
  ('step_failed', '{text,bigint,integer,text,jsonb,integer,interval,interval,timestamp with time zone}', true, false, false),
  ('complete', '{text,bigint,jsonb}', true, false, false),
  ('complete_batch', '{text[],bigint[],jsonb[]}', true, false, false),
  ('complete_and_claim', '{text,bigint,jsonb,text,text[],integer,interval,integer,text,jsonb,timestamp with time zone}', true, false, false),
  ('fail', '{text,bigint,jsonb,boolean}', true, false, false),
  ('fail_batch', '{text[],bigint[],jsonb[],boolean[]}', true, false, false),
  ('heartbeat', '{text,interval,integer,integer,integer}', true, false, false),
  ('release', '{text,text[]}', true, false, false),
  ('register', '{text,jsonb,text,interval}', true, false, false),
  ('result', '{text}', true, true, false),
  ('enqueue', '{text,jsonb,text,text,integer,timestamp with time zone,interval,integer,interval,interval,integer,interval,text,text,text,text}', false, true, false),
  ('enqueue_batch', '{jsonb}', false, true, false),
  ('cancel', '{text}', false, true, false),
  ('retry', '{text}', false, true, false),
  ('set_queue', '{text,integer,boolean,integer,interval,integer}', false, false, false),
  ('purge', '{interval}', false, false, false),
  ('now', '{}', true, true, true),
  ('sleep', '{text,bigint,integer,interval,timestamp with time zone,text}', true, false, false),
  ('recv', '{text,bigint,integer,text,interval,text}', true, false, false),
  ('await_event', '{text,bigint,integer,text,text,interval,text}', true, false, false),
  ('await_children', '{text,bigint,integer,text[],interval,text}', true, false, false),
  ('send_step', '{text,bigint,integer,text,jsonb,text,text}', true, false, false),
  ('set_event', '{text,bigint,integer,text,jsonb,text}', true, false, false),
  ('start_child', '{text,bigint,integer,text,jsonb,text,text,integer,interval,boolean,text,text}', true, false, false),
  ('send', '{text,jsonb,text,text}', false, true, false),
  ('get_event', '{text,text}', false, true, false),
  ('watch', '{text}', false, true, false),
  ('housekeep', '{text}', true, false, false),
  ('purge_batch', '{interval,integer}', false, false, false),
  ('purge_where', '{text,text,text[],timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,integer,boolean}', false, false, false),
  ('cancel_where', '{text,text,text[],timestamp with time zone,timestamp with time zone,integer,boolean}', false, false, false),
  ('retry_where', '{text,text,text[],timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,integer,boolean}', false, false, false),
  ('fork', '{text,integer,text,text}', false, true, false),
  ('start_children', '{text,bigint,integer,jsonb,text,text}', true, false, false),
  ('materialize_schedules', '{integer}', true, false, false),
  ('set_schedule', '{text,text,text,jsonb,text,text,text,boolean,interval}', false, true, false),
  ('pause_schedule', '{text}', false, true, false),
  ('resume_schedule', '{text}', false, true, false),
  ('trigger_schedule', '{text}', false, true, false),
  ('drop_schedule', '{text}', false, true, false),
  ('cron_next', '{text,text,timestamp with time zone}', true, true, true),
  ('failures_per_day', '{integer}', false, false, true),
  ('list_runs', '{text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,jsonb,text,text,timestamp with time zone,integer}', true, true, false),
  ('list_runs_meta', '{text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,text,text,timestamp with time zone,integer}', true, true, true),
  ('index_inputs', '{boolean}', false, false, false),
  ('shard_key', '{text}', true, true, true),
  ('shard_info', '{}', true, true, true),
  ('set_shard', '{integer,integer,integer[]}', false, false, false);

select function_privs_are('durable', f.name, f.args, r.role,
         case when (r.role = 'durable_worker' and f.worker) or (r.role = 'durable_client' and f.client)
                or (r.role = 'durable_observer' and f.observer)
              then array['EXECUTE'] else array[]::text[] end,
         format('%s %s durable.%s', r.role,
                case when (r.role = 'durable_worker' and f.worker) or (r.role = 'durable_client' and f.client)
                       or (r.role = 'durable_observer' and f.observer) then 'may call' else 'may not call' end,
                f.name))
  from fns f
 cross join (values ('durable_worker'), ('durable_client'), ('durable_observer')) r(role)
 order by f.name, r.role;

select * from finish();
rollback;
