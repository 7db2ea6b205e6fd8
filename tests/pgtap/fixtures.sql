-- fixtures: helpers for the pgTAP suite, in schema durable_test, deployed only in test
-- databases (tests/run.sh loads this file once, after `create extension pgtap` and dblink).
-- Every helper is idempotent to load (create or replace) and runs as the caller (root).
--
--   durable_test.t0()                     the instant tests pin the clock to by default
--   durable_test.pin(ts)                  pins durable.now() to ts for the transaction
--   durable_test.advance(interval)        moves the pinned clock forward
--   durable_test.unpin()                  unpins the clock (durable.now() = statement time)
--   durable_test.start(...)               enqueues one workflow and claims it: (id, lease)
--   durable_test.make(id, status, ...)    inserts a workflow row in any status, consistently
--   durable_test.set_status(id, status)   updates a row to any status, consistently
--   durable_test.try_transition(from, to) 'ok' or the SQLSTATE of moving a row from -> to
--   durable_test.sqlstate(sql)            'ok' or the SQLSTATE the statement raises
--   durable_test.connstr()                a dblink connection string to this database
--   durable_test.notifications(conn, channel)  notifications received on a dblink connection
create schema if not exists durable_test;
-- tests switch to the durable roles and still call the helpers
grant usage on schema durable_test to public;

create or replace function durable_test.t0()
returns timestamptz
language sql
immutable
as $$ select timestamptz '2030-01-01 00:00:00+00' $$;

create or replace function durable_test.pin(p_at timestamptz default durable_test.t0())
returns timestamptz
language plpgsql
as $$
begin
  -- ISO with offset, so the setting does not depend on the session's DateStyle or TimeZone
  perform pg_catalog.set_config('durable.fake_now',
    pg_catalog.to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00"'), true);
  return durable.now();
end
$$;

create or replace function durable_test.advance(p_by interval)
returns timestamptz
language sql
as $$ select durable_test.pin(durable.now() + p_by) $$;

create or replace function durable_test.unpin()
returns void
language sql
as $$ select pg_catalog.set_config('durable.fake_now', '', true); $$;

-- Enqueues workflow p_name and claims it for p_worker; raises when the claim hands out another
-- workflow (a test that calls start() must not leave other runnable work in p_queue).
create or replace function durable_test.start(
  p_name text default 'wf',
  p_worker text default 'worker-a',
  p_input jsonb default 'null',
  p_queue text default 'default',
  p_workflow_id text default null,
  p_lease_timeout interval default null,
  p_max_attempts integer default 3
)
returns table (id text, lease bigint)
language plpgsql
as $$
declare
  v_id text;
  v_claimed text;
  v_lease bigint;
begin
  select e.workflow_id into v_id
    from durable.enqueue(p_name, p_input, p_queue, p_workflow_id,
                         p_max_attempts => p_max_attempts) e;
  select c.workflow_id, c.lease into v_claimed, v_lease
    from durable.claim(p_worker, array[p_queue], 1, p_lease_timeout) c;
  if v_claimed is distinct from v_id then
    raise exception 'durable_test.start: enqueued % but claimed %', v_id, v_claimed;
  end if;
  return query select v_id, v_lease;
end
$$;

-- Inserts a workflow directly in status p_status with the columns that status requires
-- (inserts do not go through the transition trigger).
create or replace function durable_test.make(
  p_id text,
  p_status text,
  p_name text default 'wf',
  p_queue text default 'default'
)
returns text
language plpgsql
as $$
begin
  insert into durable.workflows
         (id, name, queue, status, run_at, owner, lease, output, created_at, finished_at)
  values (p_id, p_name, p_queue, p_status, durable.now(),
          case when p_status = 'running' then 'worker-make' end,
          case when p_status = 'running' then nextval('durable.lease_seq') end,
          case when p_status = 'succeeded' then '"made"'::jsonb end,
          durable.now(),
          case when p_status in ('succeeded', 'failed', 'cancelled') then durable.now() end);
  return p_id;
end
$$;

-- Moves workflow p_id to p_status, setting the columns that status requires.
create or replace function durable_test.set_status(p_id text, p_status text)
returns void
language plpgsql
as $$
begin
  update durable.workflows w
     set status = p_status,
         owner = case when p_status = 'running' then 'worker-make' end,
         lease = case when p_status = 'running' then nextval('durable.lease_seq') end,
         output = case when p_status = 'succeeded' then '"made"'::jsonb end,
         finished_at = case when p_status in ('succeeded', 'failed', 'cancelled')
                            then durable.now() end
   where w.id = p_id;
  if not found then
    raise exception 'durable_test.set_status: no workflow %', p_id;
  end if;
end
$$;

-- 'ok' when a workflow may be moved from p_from to p_to by a direct update, else the SQLSTATE
-- raised. Leaves nothing behind either way.
create or replace function durable_test.try_transition(p_from text, p_to text)
returns text
language plpgsql
as $$
begin
  begin
    perform durable_test.make('transition-probe', p_from);
    perform durable_test.set_status('transition-probe', p_to);
    raise exception 'undo' using errcode = 'XX999';
  exception
    when sqlstate 'XX999' then
      return 'ok';
    when others then
      return sqlstate;
  end;
end
$$;

-- 'ok' when p_sql runs, else the SQLSTATE it raises; what it wrote is undone either way.
create or replace function durable_test.sqlstate(p_sql text)
returns text
language plpgsql
as $$
begin
  begin
    execute p_sql;
    raise exception 'undo' using errcode = 'XX999';
  exception
    when sqlstate 'XX999' then
      return 'ok';
    when others then
      return sqlstate;
  end;
end
$$;

-- A dblink connection string to the current database on the current server, as the current
-- user (tests run as a superuser, who may use dblink without a password).
create or replace function durable_test.connstr()
returns text
language sql
stable
as $$
  select pg_catalog.format('dbname=%s user=%s port=%s %s',
           pg_catalog.quote_literal(pg_catalog.current_database()),
           pg_catalog.quote_literal(current_user),
           pg_catalog.current_setting('port'),
           case when pg_catalog.inet_server_addr() is not null
                then 'host=' || pg_catalog.host(pg_catalog.inet_server_addr())
                else 'host=' || pg_catalog.quote_literal(pg_catalog.split_part(
                       pg_catalog.current_setting('unix_socket_directories'), ',', 1))
           end)
$$;

-- The notifications on p_channel a dblink connection has received so far (and forgets them).
-- Does one round trip on the connection first, so that a notification sent by a transaction
-- that committed before this call has reached it; then polls briefly (at most 2 s) for
-- stragglers when p_expect rows are wanted.
create or replace function durable_test.notifications(
  p_conn text,
  p_channel text,
  p_expect integer default 0
)
returns setof text
language plpgsql
as $$
declare
  v_got text[] := '{}';
  v_round integer := 0;
begin
  loop
    perform * from public.dblink(p_conn, 'select 1') as t(x integer);
    v_got := v_got || array(select n.extra from public.dblink_get_notify(p_conn) n
                             where n.notify_name = p_channel);
    exit when cardinality(v_got) >= p_expect or v_round >= 40;
    v_round := v_round + 1;
    perform pg_catalog.pg_sleep(0.05);
  end loop;
  return query select unnest(v_got);
end
$$;

-- Runs p_sql (a query or any statement) on dblink connection p_conn, in autocommit unless that
-- connection has begun a transaction, and ignores what it returns.
create or replace function durable_test.remote(p_conn text, p_sql text)
returns void
language plpgsql
as $$
begin
  perform public.dblink_exec(p_conn,
    pg_catalog.format('do %L', pg_catalog.format('begin perform * from (%s) x; end', p_sql)));
end
$$;

-- The rows of p_sql (one column, as text) run on dblink connection p_conn; when it fails, one
-- row 'error <SQLSTATE>: <message>' instead, so the test reports a failure and goes on to clean
-- up what its sessions committed.
create or replace function durable_test.remote_rows(p_conn text, p_sql text)
returns setof text
language plpgsql
as $$
begin
  return query select t.v from public.dblink(p_conn, p_sql) as t(v text);
exception
  -- a remote statement timeout arrives as query_canceled, which others does not match
  when query_canceled or others then
    return next 'error ' || sqlstate || ': ' || sqlerrm;
end
$$;
