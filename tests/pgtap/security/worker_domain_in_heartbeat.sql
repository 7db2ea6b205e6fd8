-- The attack of issue 8 as durable_worker: a domain pg_temp.timestamptz whose CHECK calls the
-- worker's own function, then durable.heartbeat. With a search_path that does not name pg_temp,
-- heartbeat's `v_now timestamptz` is that domain and the CHECK runs as durable_admin, which may
-- widen durable.settings. The hook records current_user (in a setting, so a test can read it
-- back), then tries the update. Nothing may have called a durable function in this session
-- before: plpgsql keeps a compiled function per session.
begin;
select plan(3);

create temp table sec_settings_before as select * from durable.settings;

set local role durable_worker;
create function pg_temp.hook(v pg_catalog.timestamptz) returns boolean language plpgsql
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
create domain pg_temp.timestamptz as pg_catalog.timestamptz check (pg_temp.hook(value));
create temp table sec_held as select * from durable.heartbeat('sec-worker');
reset role;
-- gone before pgTAP runs again (its own code would find them too)
drop domain pg_temp.timestamptz;
drop function pg_temp.hook(pg_catalog.timestamptz);

select is(coalesce(current_setting('durable_test.hook_ran_as', true), ''), '',
  'durable.heartbeat runs no code of the caller''s temporary schema');
select results_eq('select * from durable.settings', 'select * from sec_settings_before',
  'durable.settings is unchanged');
select results_eq($$ select count(*)::integer from durable.workers where id = 'sec-worker' $$,
  'values (1)', 'the worker is registered');

select * from finish();
rollback;
