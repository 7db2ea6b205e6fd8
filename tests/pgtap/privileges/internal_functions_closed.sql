-- Nothing but the grants above: no role of durable's may execute any other function of schema
-- durable (internal helpers, trigger functions), PUBLIC may execute none, and functions added
-- later by durable_admin start closed to PUBLIC (default privileges).
begin;
select plan(4);

create temp table granted (fn text, role name);
insert into granted values
  ('durable.claim(text,text[],integer,interval)', 'durable_worker'),
  ('durable.checkpoint(text,bigint,integer,text,jsonb,jsonb,timestamp with time zone)', 'durable_worker'),
  ('durable.step_failed(text,bigint,integer,text,jsonb,integer,interval,interval,timestamp with time zone)', 'durable_worker'),
  ('durable.complete(text,bigint,jsonb)', 'durable_worker'),
  ('durable.complete_batch(text[],bigint[],jsonb[])', 'durable_worker'),
  ('durable.complete_and_claim(text,bigint,jsonb,text,text[],integer,interval,integer,text,jsonb,timestamp with time zone)', 'durable_worker'),
  ('durable.fail(text,bigint,jsonb,boolean)', 'durable_worker'),
  ('durable.fail_batch(text[],bigint[],jsonb[],boolean[])', 'durable_worker'),
  ('durable.heartbeat(text,interval,integer,integer,integer)', 'durable_worker'),
  ('durable.release(text,text[])', 'durable_worker'),
  ('durable.register(text,jsonb,text,interval)', 'durable_worker'),
  ('durable.result(text)', 'durable_worker'),
  ('durable.now()', 'durable_worker'),
  ('durable.enqueue(text,jsonb,text,text,integer,timestamp with time zone,interval,integer,interval,interval,integer,interval,text,text,text,text)', 'durable_client'),
  ('durable.enqueue_batch(jsonb)', 'durable_client'),
  ('durable.result(text)', 'durable_client'),
  ('durable.cancel(text)', 'durable_client'),
  ('durable.retry(text)', 'durable_client'),
  ('durable.now()', 'durable_client'),
  ('durable.now()', 'durable_observer'),
  ('durable.now()', 'durable_payload_reader'),
  ('durable.version()', 'durable_worker'),
  ('durable.version()', 'durable_client'),
  ('durable.version()', 'durable_observer'),
  ('durable.version()', 'durable_payload_reader'),
  ('durable.sleep(text,bigint,integer,interval,timestamp with time zone,text)', 'durable_worker'),
  ('durable.recv(text,bigint,integer,text,interval,text)', 'durable_worker'),
  ('durable.await_event(text,bigint,integer,text,text,interval,text)', 'durable_worker'),
  ('durable.await_children(text,bigint,integer,text[],interval,text)', 'durable_worker'),
  ('durable.send_step(text,bigint,integer,text,jsonb,text,text)', 'durable_worker'),
  ('durable.set_event(text,bigint,integer,text,jsonb,text)', 'durable_worker'),
  ('durable.start_child(text,bigint,integer,text,jsonb,text,text,integer,interval,boolean,text,text)', 'durable_worker'),
  ('durable.send(text,jsonb,text,text)', 'durable_client'),
  ('durable.get_event(text,text)', 'durable_client'),
  ('durable.watch(text)', 'durable_client'),
  ('durable.housekeep(text)', 'durable_worker'),
  ('durable.fork(text,integer,text,text)', 'durable_client'),
  ('durable.start_children(text,bigint,integer,jsonb,text,text)', 'durable_worker'),
  ('durable.materialize_schedules(integer)', 'durable_worker'),
  ('durable.set_schedule(text,text,text,jsonb,text,text,text,boolean,interval)', 'durable_client'),
  ('durable.pause_schedule(text)', 'durable_client'),
  ('durable.resume_schedule(text)', 'durable_client'),
  ('durable.trigger_schedule(text)', 'durable_client'),
  ('durable.drop_schedule(text)', 'durable_client'),
  ('durable.cron_next(text,text,timestamp with time zone)', 'durable_worker'),
  ('durable.cron_next(text,text,timestamp with time zone)', 'durable_client'),
  ('durable.cron_next(text,text,timestamp with time zone)', 'durable_observer'),
  ('durable.cron_next(text,text,timestamp with time zone)', 'durable_payload_reader'),
  ('durable.failures_per_day(integer)', 'durable_observer'),
  ('durable.failures_per_day(integer)', 'durable_payload_reader'),
  ('durable.list_runs(text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,jsonb,text,text,timestamp with time zone,integer)', 'durable_worker'),
  ('durable.list_runs(text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,jsonb,text,text,timestamp with time zone,integer)', 'durable_client'),
  ('durable.list_runs(text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,jsonb,text,text,timestamp with time zone,integer)', 'durable_payload_reader'),
  ('durable.list_runs_meta(text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,text,text,timestamp with time zone,integer)', 'durable_worker'),
  ('durable.list_runs_meta(text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,text,text,timestamp with time zone,integer)', 'durable_client'),
  ('durable.list_runs_meta(text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,text,text,timestamp with time zone,integer)', 'durable_observer'),
  ('durable.list_runs_meta(text[],text,text,timestamp with time zone,timestamp with time zone,timestamp with time zone,timestamp with time zone,text,text,timestamp with time zone,integer)', 'durable_payload_reader'),
  ('durable.shard_key(text)', 'durable_worker'),
  ('durable.shard_key(text)', 'durable_client'),
  ('durable.shard_key(text)', 'durable_observer'),
  ('durable.shard_key(text)', 'durable_payload_reader'),
  ('durable.shard_info()', 'durable_worker'),
  ('durable.shard_info()', 'durable_client'),
  ('durable.shard_info()', 'durable_observer'),
  ('durable.shard_info()', 'durable_payload_reader');

select set_eq(
  $$ select p.oid::regprocedure::text, r.rolname
       from pg_proc p
      cross join pg_roles r
      where p.pronamespace = 'durable'::regnamespace
        and r.rolname in ('durable_worker', 'durable_client', 'durable_observer',
                          'durable_payload_reader')
        and has_function_privilege(r.oid, p.oid, 'EXECUTE') $$,
  $$ select fn::regprocedure::text, role from granted $$,
  'the roles may execute exactly the granted functions of schema durable, nothing internal');

select is_empty(
  $$ select p.oid::regprocedure from pg_proc p
      where p.pronamespace = 'durable'::regnamespace
        and has_function_privilege('public', p.oid, 'EXECUTE') $$,
  'PUBLIC may execute no function of schema durable');

select is_empty(
  $$ select p.oid::regprocedure from pg_proc p
      where p.pronamespace = 'durable'::regnamespace and p.proacl is null $$,
  'no function is left with the default ACL (which would include PUBLIC)');

set local role durable_admin;
create function durable.test_probe() returns integer language sql as 'select 1';
reset role;
select ok(not has_function_privilege('public', 'durable.test_probe()', 'EXECUTE'),
  'a function durable_admin creates later is closed to PUBLIC by default');

select * from finish();
rollback;
