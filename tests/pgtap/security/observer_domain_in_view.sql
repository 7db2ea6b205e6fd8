-- The attack of issue 8 as durable_observer, which calls no SECURITY DEFINER function: a domain
-- pg_temp.text whose CHECK calls the observer's own function, then durable.worker_status, whose
-- alive column calls durable.now(). With a search_path that does not name pg_temp, now()'s
-- `v_fake text` is that domain and the CHECK runs inside durable's code (as the observer: the
-- view's functions run as its reader, so the update of durable.settings is refused; durable's
-- code must not run the caller's code all the same). The hook records current_user (in a
-- setting, so a test can read it back), then tries the update. Nothing may have called a
-- durable function in this session before: plpgsql keeps a compiled function per session.
begin;
select plan(3);

create temp table sec_settings_before as select * from durable.settings;
-- a worker row, written directly (no durable function runs before the attack)
insert into durable.workers (id, started_at, heartbeat_at, lease_timeout, expires_at)
values ('sec-worker', now(), now(), interval '1 minute', now() + interval '1 minute');

set local role durable_observer;
create function pg_temp.hook(v pg_catalog.text) returns boolean language plpgsql
  as $$
begin
  perform pg_catalog.set_config('durable_test.hook_ran_as',
    pg_catalog.concat_ws(' ', nullif(pg_catalog.current_setting('durable_test.hook_ran_as', true), ''),
                         current_user), true);
  begin
    update durable.settings set max_payload_bytes = 268435456;
  exception when insufficient_privilege then
    null;
  end;
  return true;
end $$;
create domain pg_temp.text as pg_catalog.text check (pg_temp.hook(value));
create temp table sec_seen as select * from durable.worker_status;
reset role;
-- gone before pgTAP runs again (its own code would find them too)
drop domain pg_temp.text;
drop function pg_temp.hook(pg_catalog.text);

select is(coalesce(current_setting('durable_test.hook_ran_as', true), ''), '',
  'durable.worker_status (durable.now()) runs no code of the caller''s temporary schema');
select results_eq('select * from durable.settings', 'select * from sec_settings_before',
  'durable.settings is unchanged');
select results_eq($$ select alive from sec_seen where id = 'sec-worker' $$, 'values (true)',
  'the observer sees the worker alive');

select * from finish();
rollback;
