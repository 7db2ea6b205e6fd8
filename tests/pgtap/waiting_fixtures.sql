-- waiting_fixtures: helpers for the tests of waiting (issue 10: sleep, messages, events,
-- children, deadlines, watch), in schema durable_test next to those of fixtures.sql. Each test
-- that needs them loads this file with \ir ../waiting_fixtures.sql after its begin, so they
-- exist for that transaction only (and the file is not a test itself: pg_prove runs
-- tests/pgtap/*/*.sql). Every helper runs as the caller (root).
--
--   durable_test.lease_of(id)                 the workflow's current lease (null when none)
--   durable_test.claim_id(id, worker, queue)  claims one workflow, which must be id: its lease
--   durable_test.parked(id)                   status, owner, owner_login, lease, run_at as text
--   durable_test.settle(conn, pid)            after dblink_send_query on conn: waits until
--                                             that session's statement is done or blocked on
--                                             a lock held by another session
--   durable_test.remote_value(conn, sql)      the one text value sql returns on conn

create or replace function durable_test.lease_of(p_id text)
returns bigint
language sql
stable
as $$ select w.lease from durable.workflows w where w.id = p_id $$;

create or replace function durable_test.claim_id(
  p_id text,
  p_worker text default 'worker-a',
  p_queue text default 'default'
)
returns bigint
language plpgsql
as $$
declare
  v_claimed text;
  v_lease bigint;
begin
  select c.workflow_id, c.lease into v_claimed, v_lease
    from durable.claim(p_worker, array[p_queue], 1) c;
  if v_claimed is distinct from p_id then
    raise exception 'durable_test.claim_id: wanted % but claimed %', p_id, v_claimed;
  end if;
  return v_lease;
end
$$;

-- The columns a park sets, in one text value, to compare with an expected one:
-- 'waiting owner=<null> login=<null> lease=<null> run_at=infinity'
create or replace function durable_test.parked(p_id text)
returns text
language sql
stable
as $$
  select pg_catalog.format('%s owner=%s login=%s lease=%s run_at=%s', w.status,
           coalesce(w.owner, '<null>'), coalesce(w.owner_login, '<null>'),
           coalesce(w.lease::text, '<null>'),
           case when w.run_at = 'infinity' then 'infinity'
                else pg_catalog.to_char(w.run_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') end)
    from durable.workflows w where w.id = p_id
$$;

-- After dblink_send_query(p_conn, ...): returns 'done' once the statement has finished, or
-- 'blocked' while backend p_pid waits for a lock another session holds; this orders the steps
-- of a two-session test without asserting on timing ('neither' after 20 s: something hangs).
create or replace function durable_test.settle(p_conn text, p_pid integer)
returns text
language plpgsql
as $$
begin
  for i in 1 .. 2000 loop
    if public.dblink_is_busy(p_conn) = 0 then
      return 'done';
    end if;
    if cardinality(pg_catalog.pg_blocking_pids(p_pid)) > 0 then
      return 'blocked';
    end if;
    perform pg_catalog.pg_sleep(0.01);
  end loop;
  return 'neither';
end
$$;

create or replace function durable_test.remote_value(p_conn text, p_sql text)
returns text
language sql
as $$ select t.v from public.dblink(p_conn, p_sql) as t(v text) $$;
