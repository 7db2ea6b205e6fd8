-- No role may run code of its own inside durable's functions through its temporary schema
-- (issue 8). A search_path that does not name pg_temp searches the caller's temporary schema
-- first for types and relations, so a SECURITY DEFINER function whose body names `text` or
-- `timestamptz` would use a domain the caller made there, and run the domain's CHECK as
-- durable_admin.
--
-- Every role granted USAGE on schema durable other than its owner is tried, enumerated from the
-- catalog: a role added later is covered without touching this file. Each in a session of its
-- own (dblink: plpgsql keeps a compiled function per session, so the objects must exist before
-- the session's first call of a durable function) and a transaction rolled back at the end:
--   1. as the role, in its temporary schema: a hook that raises HK001 naming current_user
--      while armed (and tries to widen durable.settings.max_payload_bytes first, to say whether
--      it could have); a domain over the type of that name, with a CHECK calling the hook, named
--      after every type name durable's functions use (argument, result and column types, the
--      pg_catalog type names and the names after :: in their bodies); a table for each such name
--      that is a pseudo-type (record, ...), whose row type then takes that name; a view with
--      the same columns and a WHERE calling the hook, named after every relation of schema
--      durable, every pg_catalog relation the bodies name and every unqualified name after
--      from, join, update, insert into or delete from in the bodies;
--   2. as the superuser, in the tables: workflows in every state the functions act on (running
--      with a recorded step and a failed try, failed, pending, one held by a worker whose
--      heartbeat expired) on a queue with a concurrency limit;
--   3. as the role, hook armed: every function of schema durable it may execute, with several
--      argument sets (workflow ids of each state and an unknown and a null one, step positions
--      recorded, tried and new, payloads large enough to be checked against the size limit),
--      each in a subtransaction that is undone; and every relation of it that it may read.
-- Asserted per role: no hook ran; every call returned or raised a DU error (a temporary type
-- that breaks a body shows here); every function and relation it may use was called and
-- returned at least once (the calls got through their bodies); durable.settings is unchanged.
begin;

create temp table sec_roles as
select distinct a.grantee::regrole::text as role
  from pg_namespace n, aclexplode(n.nspacl) a
 where n.nspname = 'durable' and a.privilege_type = 'USAGE'
   and a.grantee <> n.nspowner and a.grantee <> 0;

select plan(1 + 4 * (select count(*)::integer from sec_roles));

select ok((select array_agg(role) from sec_roles)
            @> array['durable_client', 'durable_observer', 'durable_worker'],
  'every role with USAGE on schema durable is tried, the client, observer and worker roles among them');

create temp table sec_results (role text, target text, variant text, outcome text, detail text);

do $local$
declare
  v_role text;
  v_conn text := 'durable_security_probe';
begin
  for v_role in select r.role from sec_roles r order by r.role loop
    begin
      perform dblink_connect(v_conn, durable_test.connstr());
      perform dblink_exec(v_conn, 'begin');
      perform dblink_exec(v_conn, $remote$
        create temp table sec_settings_before as select * from durable.settings;
      $remote$);

      -- 1. the role's temporary objects
      perform dblink_exec(v_conn, format('set local role %I', v_role));
      perform dblink_exec(v_conn, $remote$
        create temp table sec_log (
          target pg_catalog.text, variant pg_catalog.text, outcome pg_catalog.text,
          detail pg_catalog.text);

        create function pg_temp.sec_hook(p_value anyelement, p_what pg_catalog.text)
        returns pg_catalog.bool
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $hook$
        declare
          v_could pg_catalog.text;
        begin
          if pg_catalog.current_setting('durable_test.sec_armed', true) = 'on' then
            begin
              update durable.settings set max_payload_bytes = 268435456;
              v_could := 'and could update durable.settings';
            exception when others then
              v_could := 'and could not update durable.settings: ' || sqlerrm;
            end;
            raise exception 'code of the caller''s temporary schema (%) ran as % %',
                p_what, current_user, v_could
              using errcode = 'HK001';
          end if;
          return true;
        end
        $hook$;

        do $objects$
        declare
          v_ddl pg_catalog.text[];
          v_statement pg_catalog.text;
        begin
          -- every statement is made before the first runs: from then on, unqualified names in
          -- this session resolve to the objects made here
          with bodies as (
            select p.prosrc from pg_catalog.pg_proc p
             where p.pronamespace = 'durable'::pg_catalog.regnamespace
          ),
          relations as (
            select c.relname::pg_catalog.text as name
              from pg_catalog.pg_class c
             where c.relnamespace = 'durable'::pg_catalog.regnamespace
               and c.relkind in ('r', 'v', 'm', 'p', 'f')
            union
            select c.relname::pg_catalog.text
              from pg_catalog.pg_class c
             where c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace
               and c.relkind in ('r', 'v', 'm', 'p', 'f')
               and exists (select 1 from bodies b
                            where b.prosrc operator(pg_catalog.~*) ('\m' || c.relname || '\M'))
            union
            select pg_catalog.lower(m[1])
              from bodies b,
                   pg_catalog.regexp_matches(b.prosrc,
                     '\m(?:from|join|update|insert\s+into|delete\s+from)\s+([a-z_][a-z0-9_$]*)\M(?!\s*[.(])',
                     'gi') m
             where pg_catalog.lower(m[1]) not in (select k.word from pg_catalog.pg_get_keywords() k)
          ),
          types as (
            -- argument and result types, arrays by their element type
            select coalesce(e.typname, t.typname)::pg_catalog.text as name
              from pg_catalog.pg_proc p
             cross join lateral pg_catalog.unnest(
                     p.proargtypes::pg_catalog.oid[]
                     || coalesce(p.proallargtypes, '{}'::pg_catalog.oid[]) || p.prorettype) a(typ)
              join pg_catalog.pg_type t on t.oid = a.typ
              left join pg_catalog.pg_type e on e.oid = t.typelem and t.typcategory = 'A'
             where p.pronamespace = 'durable'::pg_catalog.regnamespace
            union
            -- column types of durable's tables and views
            select coalesce(e.typname, t.typname)::pg_catalog.text
              from pg_catalog.pg_attribute a
              join pg_catalog.pg_class c on c.oid = a.attrelid
              join pg_catalog.pg_type t on t.oid = a.atttypid
              left join pg_catalog.pg_type e on e.oid = t.typelem and t.typcategory = 'A'
             where c.relnamespace = 'durable'::pg_catalog.regnamespace
               and a.attnum > 0 and not a.attisdropped
            union
            -- names of pg_catalog types that occur in the bodies
            select t.typname::pg_catalog.text
              from pg_catalog.pg_type t
             where t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace
               and exists (select 1 from bodies b
                            where b.prosrc operator(pg_catalog.~*) ('\m' || t.typname || '\M'))
            union
            -- any name a body casts to
            select pg_catalog.lower(m[1])
              from bodies b,
                   pg_catalog.regexp_matches(b.prosrc, '::\s*([a-z_][a-z0-9_$]*)\M(?!\s*\.)', 'gi') m
          ),
          typed as (
            select t.name, r.oid as typ, r.typtype,
                   pg_catalog.format('%I.%I', n.nspname, r.typname) as qualified
              from types t
              -- the type of that name: in pg_catalog, else as a type name (integer: int4)
              left join pg_catalog.pg_type r on r.oid = coalesce(
                (select c.oid from pg_catalog.pg_type c
                  where c.typname = t.name and c.typnamespace = 'pg_catalog'::pg_catalog.regnamespace),
                case when t.name not in (select k.word from pg_catalog.pg_get_keywords() k
                                          where k.catcode = 'R')
                     then pg_catalog.to_regtype(t.name) end)
              left join pg_catalog.pg_namespace n on n.oid = r.typnamespace
             where t.name not in (select x.name from relations x)
          ),
          ddl as (
            select 1 as ord, x.name,
                   pg_catalog.format('create temp view %I as select %s where pg_temp.sec_hook(true, %L)',
                     x.name,
                     coalesce((select pg_catalog.string_agg(
                                        pg_catalog.format('null::%I.%I as %I', tn.nspname, t.typname, a.attname),
                                        ', ' order by a.attnum)
                                 from pg_catalog.pg_attribute a
                                 join pg_catalog.pg_type t on t.oid = a.atttypid
                                 join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
                                where a.attrelid = (select min(c.oid) from pg_catalog.pg_class c
                                                     where c.relname = x.name
                                                       and c.relnamespace in ('durable'::pg_catalog.regnamespace,
                                                                              'pg_catalog'::pg_catalog.regnamespace))
                                  and a.attnum > 0 and not a.attisdropped), ''),
                     'view pg_temp.' || x.name) as statement
              from relations x
            union all
            select 2, x.name, pg_catalog.format('grant select on pg_temp.%I to public', x.name)
              from relations x
            union all
            select 3, y.name, pg_catalog.format('create temp table %I ()', y.name)
              from typed y
             where y.typtype = 'p'
            union all
            select 4, y.name, pg_catalog.format('grant all on pg_temp.%I to public', y.name)
              from typed y
             where y.typtype = 'p'
            union all
            select 5, y.name,
                   pg_catalog.format('create domain pg_temp.%I as %s check (pg_temp.sec_hook(value, %L))',
                     y.name, coalesce(y.qualified, 'pg_catalog.text'), 'domain pg_temp.' || y.name)
              from typed y
             where y.typtype is distinct from 'p'
          )
          select pg_catalog.array_agg(d.statement order by d.ord, d.name) into v_ddl from ddl d;

          foreach v_statement in array v_ddl loop
            execute v_statement;
          end loop;
        end
        $objects$;
      $remote$);
      perform dblink_exec(v_conn, 'reset role');

      -- 2. workflows to act on, written to the tables by the superuser (not through the
      -- functions, which the temporary objects may break)
      perform dblink_exec(v_conn, $remote$
        insert into durable.queues (name, concurrency) values ('sec-probe', 10);
        insert into durable.workers (id, started_at, heartbeat_at, lease_timeout, expires_at)
        values ('sec-worker', now(), now(), interval '1 minute', now() + interval '1 minute'),
               -- heartbeats expired: one holds a workflow, one nothing
               ('sec-dead', now() - interval '1 day', now() - interval '1 day', interval '1 minute',
                now() - interval '1 day'),
               ('sec-dead-idle', now() - interval '1 day', now() - interval '1 day',
                interval '1 minute', now() - interval '1 day');
        insert into durable.workflows
               (id, name, queue, status, run_at, attempt, max_attempts, owner, lease, claims,
                input, error, created_at, claimed_at, finished_at)
        values ('sec-failed', 'sec-wf', 'sec-probe', 'failed', now(), 1, 1, null, null, 1,
                '{"k": 0}', '{"type": "Boom"}', now(), now(), now()),
               ('sec-running', 'sec-wf', 'sec-probe', 'running', now(), 1, 3, 'sec-worker',
                nextval('durable.lease_seq'), 1, '{"k": 1}', null, now(), now(), null),
               ('sec-orphan', 'sec-wf', 'sec-probe', 'running', now(), 1, 3, 'sec-dead',
                nextval('durable.lease_seq'), 1, '{"k": 2}', null, now(), now(), null),
               ('sec-pending', 'sec-wf', 'sec-probe', 'pending', now(), 1, 3, null, null, 0,
                '{"k": 3}', null, now(), null, null),
               ('sec-pending-2', 'sec-wf', 'sec-probe', 'pending', now(), 1, 3, null, null, 0,
                '{"k": 4}', null, now(), null, null);
        -- a child of sec-running (durable.await_children waits on it)
        insert into durable.workflows
               (id, name, queue, status, run_at, input, created_at, parent_id)
        values ('sec-child', 'sec-wf', 'sec-probe', 'pending', now(), '{"k": 5}', now(),
                'sec-running');
        -- sec-running: step 0 recorded, step 1 tried once
        insert into durable.steps (workflow_id, step_id, name, output, attempt, lease, created_at)
        select w.id, 0, 'step-0', '{"o": 0}', 1, w.lease, now()
          from durable.workflows w where w.id = 'sec-running';
        insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
        values ('sec-running', 1, 'step-1', 1, '{"type": "Try"}', now()),
               ('sec-failed', null, null, 1, '{"type": "Boom"}', now());

        -- a schedule (durable.pause_schedule, trigger_schedule ... act on it)
        insert into durable.schedules (name, cron, fields, workflow_name, queue, next_tick)
        values ('sec-wf', '* * * * *', durable.cron_parse('* * * * *'), 'sec-wf', 'sec-probe', now());

        create temp table sec_leases as
        select w.id, w.lease from durable.workflows w where w.id like 'sec-%';
        grant select on pg_temp.sec_leases to public;
      $remote$);

      -- 3. the role calls everything it may, hook armed
      perform dblink_exec(v_conn, format('set local role %I', v_role));
      perform dblink_exec(v_conn, $remote$
        do $probe$
        declare
          v_target pg_catalog.text;
          v_variant pg_catalog.text;
          v_sql pg_catalog.text;
          v_state pg_catalog.text;
          v_message pg_catalog.text;
        begin
          for v_target, v_variant, v_sql in
            with fns as (
              select p.oid, p.proname::pg_catalog.text as name, p.prokind,
                     coalesce(p.proallargtypes, p.proargtypes::pg_catalog.oid[]) as types,
                     p.proargmodes as modes, p.proargnames as names,
                     'p_step_id' = any (coalesce(p.proargnames, '{}')) as has_step,
                     exists (select 1 from pg_catalog.unnest(p.proargnames) a(n)
                              where a.n like 'p\_workflow%') as has_id
                from pg_catalog.pg_proc p
               where p.pronamespace = 'durable'::pg_catalog.regnamespace
                 and p.prokind in ('f', 'p')
                 and p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype
                 and pg_catalog.has_function_privilege(p.oid, 'EXECUTE')
            ),
            variants as (
              select f.*, i.id, s.step
                from fns f
               cross join lateral pg_catalog.unnest(
                       case when f.has_id
                            then array['sec-running', 'sec-failed', 'sec-pending', 'sec-unknown', null]
                            else array[null] end) i(id)
               cross join lateral pg_catalog.unnest(
                       case when f.has_step then array[0, 1, 2] else array[null]::pg_catalog.int4[] end) s(step)
            ),
            args as (
              select v.oid, v.id, v.step, a.n, a.typ,
                     -- an array parameter takes the value of its singular (p_leases: p_lease)
                     case when t.typcategory = 'A'
                          then pg_catalog.regexp_replace(coalesce(a.argname, ''), 's$', '')
                          else coalesce(a.argname, '') end as argname,
                     coalesce(e.oid, t.oid) as elem, t.typcategory = 'A' as is_array,
                     pg_catalog.format('%I.%I', tn.nspname, t.typname) as qualified,
                     v.has_step, v.name as fn
                from variants v
               cross join lateral rows from (pg_catalog.unnest(v.types), pg_catalog.unnest(v.modes),
                                            pg_catalog.unnest(v.names))
                       with ordinality a(typ, mode, argname, n)
                join pg_catalog.pg_type t on t.oid = a.typ
                join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
                left join pg_catalog.pg_type e on e.oid = t.typelem and t.typcategory = 'A'
               where coalesce(a.mode, 'i') in ('i', 'b', 'v')
            ),
            valued as (
              select a.*,
                     case
                       when a.elem = 'pg_catalog.text'::pg_catalog.regtype then pg_catalog.quote_nullable(
                         case a.argname
                           when 'p_workflow_id' then a.id
                           when 'p_worker' then 'sec-worker'
                           -- waiting.sql: workflows that exist (a send's, an event's, a child)
                           when 'p_destination' then 'sec-pending'
                           when 'p_target' then 'sec-running'
                           when 'p_children' then 'sec-child'
                           when 'p_child_id' then null
                           -- schedules.sql
                           when 'p_cron' then '* * * * *'
                           when 'p_time_zone' then 'UTC'
                           when 'p_missed' then 'skip'
                           when 'p_if_exists' then 'return'
                           -- trace_context.sql: a W3C traceparent
                           when 'p_trace_context' then '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
                           when 'p_step_name' then 'step-' || a.step
                           -- listing.sql: a status, and no page cursor or parent
                           when 'p_statu' then 'failed'  -- p_status, made singular above
                           when 'p_before_id' then null
                           when 'p_parent_id' then null
                           when 'p_name' then case when a.has_step then 'step-' || a.step else 'sec-wf' end
                           else 'sec-probe' end) || '::pg_catalog.text'
                       when a.elem = 'pg_catalog.int8'::pg_catalog.regtype then
                         case a.argname
                           when 'p_lease' then coalesce(
                             (select l.lease from pg_temp.sec_leases l where l.id = a.id),
                             (select l.lease from pg_temp.sec_leases l where l.id = 'sec-running'))::pg_catalog.text
                           else '1' end || '::pg_catalog.int8'
                       when a.elem = 'pg_catalog.int4'::pg_catalog.regtype then
                         coalesce(case a.argname
                                    when 'p_step_id' then a.step
                                    when 'p_max' then 2
                                    when 'p_max_attempts' then 3
                                    else 1 end::pg_catalog.text, 'null') || '::pg_catalog.int4'
                       when a.elem = 'pg_catalog.jsonb'::pg_catalog.regtype then pg_catalog.quote_literal(
                         case when a.argname = 'p_children'
                           -- durable.start_children: one child
                           then '[{"name": "sec-wf", "queue": "sec-probe"}]'
                           when a.argname = 'p_workflows' and a.fn = 'register'
                           -- durable.register: the workflows a worker has code for
                           then pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                             'name', 'sec-wf', 'queue', 'sec-probe'))::pg_catalog.text
                           else case a.argname
                           when 'p_workflows' then pg_catalog.jsonb_build_array(
                             pg_catalog.jsonb_build_object('name', 'sec-wf', 'queue', 'sec-probe',
                               'workflow_id', a.id, 'input', pg_catalog.jsonb_build_object('pad', pg_catalog.repeat('x', 1500))),
                             pg_catalog.jsonb_build_object('name', 'sec-wf', 'queue', 'sec-probe'))::pg_catalog.text
                           -- larger than 1 KiB: checked against durable.settings.max_payload_bytes
                           else pg_catalog.jsonb_build_object('type', 'Probe', 'pad', pg_catalog.repeat('x', 1500))::pg_catalog.text
                         end end) || '::pg_catalog.jsonb'
                       when a.elem = 'pg_catalog.interval'::pg_catalog.regtype then
                         case a.argname
                           when 'p_delay' then 'null'
                           when 'p_backoff_base' then '''1 second'''
                           when 'p_backoff_max' then '''1 hour'''
                           else '''1 minute''' end || '::pg_catalog.interval'
                       when a.elem = 'pg_catalog.timestamptz'::pg_catalog.regtype then
                         case a.argname
                           when 'p_run_at' then 'null::pg_catalog.timestamptz'
                           when 'p_until' then 'null::pg_catalog.timestamptz'  -- sleep: p_duration
                           -- listing.sql: open time ranges, no page cursor
                           when 'p_created_after' then 'null::pg_catalog.timestamptz'
                           when 'p_finished_after' then 'null::pg_catalog.timestamptz'
                           when 'p_before_created_at' then 'null::pg_catalog.timestamptz'
                           else 'pg_catalog.statement_timestamp()' end
                       when a.elem = 'pg_catalog.bool'::pg_catalog.regtype then
                         case a.argname when 'p_paused' then 'false' else 'true' end
                       else 'null::' || a.qualified
                     end as value
                from args a
            )
            select 'durable.' || f.name,
                   pg_catalog.concat_ws(' ', 'workflow ' || coalesce(v.id, case when f.has_id then 'null' end),
                                        'step ' || v.step),
                   pg_catalog.format(case when f.prokind = 'p' then 'call durable.%I(%s)'
                                          else 'select * from durable.%I(%s)' end, f.name,
                     coalesce((select pg_catalog.string_agg(
                                        case when x.is_array and x.id is null and x.argname = 'p_workflow_id'
                                             then 'null::' || x.qualified
                                             when x.is_array then 'array[' || x.value || ']::' || x.qualified
                                             else x.value end, ', ' order by x.n)
                                 from valued x
                                where x.oid = v.oid and x.id is not distinct from v.id
                                  and x.step is not distinct from v.step), ''))
              from variants v join fns f on f.oid = v.oid
            union all
            select 'durable.' || c.relname, '',
                   pg_catalog.format('select * from durable.%I', c.relname)
              from pg_catalog.pg_class c
             where c.relnamespace = 'durable'::pg_catalog.regnamespace
               and c.relkind in ('r', 'v', 'm', 'p', 'f')
               and pg_catalog.has_table_privilege(c.oid, 'SELECT')
             order by 1, 2
          loop
            begin
              perform pg_catalog.set_config('durable_test.sec_armed', 'on', true);
              execute v_sql;
              raise exception 'undo' using errcode = 'HK999';
            exception when others then
              -- the subtransaction is undone, the hook disarmed with it
              get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
              insert into pg_temp.sec_log
              values (v_target, v_variant,
                      case when v_state = 'HK999' then 'ok' else v_state end,
                      case when v_state = 'HK999' then v_sql else v_message end);
            end;
          end loop;
        end
        $probe$;
      $remote$);
      perform dblink_exec(v_conn, 'reset role');

      insert into sec_results
      select v_role, t.*
        from dblink(v_conn, $remote$
          select l.target, l.variant, l.outcome, l.detail from pg_temp.sec_log l
          union all
          select 'durable.settings', '',
                 case when (select pg_catalog.row_to_json(s)::pg_catalog.text from durable.settings s)
                           = (select pg_catalog.row_to_json(b)::pg_catalog.text from pg_temp.sec_settings_before b)
                      then 'unchanged' else 'changed' end,
                 (select pg_catalog.row_to_json(s)::pg_catalog.text from durable.settings s)
        $remote$) as t(target text, variant text, outcome text, detail text);
      perform dblink_exec(v_conn, 'rollback');
      perform dblink_disconnect(v_conn);
    exception when others then
      insert into sec_results values (v_role, 'the probe itself', '', sqlstate, sqlerrm);
      if v_conn = any (coalesce(dblink_get_connections(), '{}')) then
        perform dblink_disconnect(v_conn);
      end if;
    end;
  end loop;
end
$local$;

select is_empty(
  format($$ select target, variant, detail from sec_results where role = %L and outcome = 'HK001'
            order by target, variant $$, r.role),
  format('%s: no durable function, trigger or view runs code of its temporary schema', r.role))
  from sec_roles r order by r.role;

select is_empty(
  format($$ select target, variant, outcome, detail from sec_results
             where role = %L and outcome not in ('ok', 'HK001', 'unchanged', 'changed')
               and outcome !~ '^DU' order by target, variant $$, r.role),
  format('%s: every call returns or raises a DU error among its temporary objects', r.role))
  from sec_roles r order by r.role;

select set_eq(
  format($$ select distinct target from sec_results
             where role = %L and outcome = 'ok' and target <> 'durable.settings' $$, r.role),
  format($$ select 'durable.' || p.proname from pg_proc p
             where p.pronamespace = 'durable'::regnamespace and p.prokind in ('f', 'p')
               and p.prorettype <> 'trigger'::regtype
               and has_function_privilege(%1$L, p.oid, 'EXECUTE')
            union
            select 'durable.' || c.relname from pg_class c
             where c.relnamespace = 'durable'::regnamespace and c.relkind in ('r', 'v', 'm', 'p', 'f')
               and has_table_privilege(%1$L, c.oid, 'SELECT') $$, r.role),
  format('%s: every durable function it may execute and relation it may read was called and returned',
         r.role))
  from sec_roles r order by r.role;

select is(
  (select s.outcome || ' ' || s.detail from sec_results s
    where s.role = r.role and s.target = 'durable.settings'),
  'unchanged ' || (select row_to_json(s)::text from durable.settings s),
  format('%s: durable.settings is unchanged', r.role))
  from sec_roles r order by r.role;

select * from finish();
rollback;
