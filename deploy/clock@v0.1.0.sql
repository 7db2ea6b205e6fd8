-- clock: the one function every durable function reads the time from.
--
-- It returns statement_timestamp(): the start of the client's statement, so every row one
-- function call touches carries the same time. A test pins it with
--   set local durable.fake_now = '2026-01-01 00:00:00+00';
-- Only a superuser session may pin it: otherwise a worker could move its own clock forward to
-- expire other workers' leases.
begin;
set local role durable_admin;

create function durable.now()
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
  v_fake text := pg_catalog.current_setting('durable.fake_now', true);
begin
  if v_fake is null or v_fake = '' then
    return pg_catalog.statement_timestamp();
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = session_user and rolsuper) then
    raise exception 'durable.fake_now is set but session user % is not a superuser', session_user
      using errcode = 'DU009',
            hint = 'The pinned clock is for tests run as a superuser: reset durable.fake_now.';
  end if;
  return v_fake::timestamptz;
end
$$;

comment on function durable.now() is
  'The time durable functions use: statement_timestamp(), or the setting durable.fake_now when a '
  'superuser session pins it for a test. Raises DU009 when a non-superuser pins it.';

commit;
