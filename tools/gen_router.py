#!/usr/bin/env python3
"""Generate sql/router.sql, the PL/Proxy router of a sharded durable deployment, from the
catalog of a deployed durable database, so that the router stays in step with the API.

usage: tools/gen_router.py DSN [--output sql/router.sql] [--check]
  DSN       a database deployed with `sqitch deploy` (any shard will do)
  --check   compare with the file instead of writing it; exit 1 when it differs, or when a
            public function of the catalog has no route here (the router must cover them all)

The router database gets:
  schema durable         every public function of the shard's API, same names, arguments,
                         defaults and results (psql and any driver use it unchanged), and every
                         view, as PL/Proxy functions and thin SQL wrappers over them;
  schema durable_router  the cluster's map (partitions: logical shard -> connection string, set
                         from the shards' own durable.shard_info() by durable_router.set_shards),
                         the routing rule (durable.shard_key, copied from the catalog) and the
                         internal PL/Proxy functions the wrappers call;
  schema plproxy         PL/Proxy's configuration functions (cluster 'durable').
A public function is one granted to durable_worker, durable_client, durable_observer or
durable_payload_reader, or one of ADMIN_PUBLIC; each must have a route in ROUTES (or a reason
in NOT_ROUTED), else the generator fails. The grants of the router's functions and views are
the source's, per role. Routing kinds (README: Scaling past one Postgres):
  id ARG      one workflow (or schedule) named by ARG: run on the shard of durable.shard_key(ARG)
  new         enqueue: the shard of p_workflow_id, or a random one that then makes the id
  any         any shard (stateless: now, version, cron_next)
  all         every shard, rows of all of them (heartbeat, shard_info)
  sum         every shard, the results added up (or and-ed / or-ed, see AGGREGATES)
  local       computed on the router itself (shard_key)
  custom      written out below: claim, enqueue_batch, complete_batch, fail_batch, fork,
              list_runs, list_runs_meta, failures_per_day
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
ROLES = ("durable_worker", "durable_client", "durable_observer", "durable_payload_reader")
ADMIN_PUBLIC = {"set_queue", "purge", "purge_batch", "purge_where", "cancel_where",
                "retry_where", "index_inputs", "set_shard"}

ROUTES: dict[str, tuple[str, str]] = {
    # clients
    "enqueue": ("new", ""),
    "enqueue_batch": ("custom", ""),
    "result": ("id", "p_workflow_id"),
    "cancel": ("id", "p_workflow_id"),
    "retry": ("id", "p_workflow_id"),
    "watch": ("id", "p_workflow_id"),
    "get_event": ("id", "p_workflow_id"),
    "send": ("id", "p_destination"),
    "fork": ("custom", ""),
    "set_schedule": ("id", "p_name"),
    "pause_schedule": ("id", "p_name"),
    "resume_schedule": ("id", "p_name"),
    "trigger_schedule": ("id", "p_name"),
    "drop_schedule": ("id", "p_name"),
    # workers
    "claim": ("custom", ""),
    "checkpoint": ("id", "p_workflow_id"),
    "step_failed": ("id", "p_workflow_id"),
    "complete": ("id", "p_workflow_id"),
    "complete_and_claim": ("id", "p_workflow_id"),
    "fail": ("id", "p_workflow_id"),
    "complete_batch": ("custom", ""),
    "fail_batch": ("custom", ""),
    "sleep": ("id", "p_workflow_id"),
    "recv": ("id", "p_workflow_id"),
    "await_event": ("id", "p_workflow_id"),
    "await_children": ("id", "p_workflow_id"),
    "send_step": ("id", "p_workflow_id"),
    "set_event": ("id", "p_workflow_id"),
    "start_child": ("id", "p_workflow_id"),
    "start_children": ("id", "p_workflow_id"),
    "heartbeat": ("all", ""),
    "release": ("sum", ""),
    "register": ("sum", ""),
    "housekeep": ("sum", ""),
    "materialize_schedules": ("sum", ""),
    # everyone
    "now": ("any", ""),
    "version": ("any", ""),
    "cron_next": ("any", ""),
    "shard_key": ("local", ""),
    "shard_info": ("all", ""),
    "list_runs": ("custom", ""),
    "list_runs_meta": ("custom", ""),
    "failures_per_day": ("custom", ""),
    # operators
    "set_queue": ("sum", ""),
    "purge": ("sum", ""),
    "purge_batch": ("sum", ""),
    "purge_where": ("sum", ""),
    "cancel_where": ("sum", ""),
    "retry_where": ("sum", ""),
    "index_inputs": ("sum", ""),
}
NOT_ROUTED = {
    "set_shard": "a shard's own identity: run it on each shard (durable_router.set_shards "
                 "then reads the map from them)",
}
# how "sum" functions combine the shards' answers, per output column (default: sum)
AGGREGATES: dict[str, str] = {
    "register": "max", "more": "bool_or", "index_inputs": "bool_and", "set_queue": "void",
}


def q(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class Fn:
    """One public function of the catalog."""

    def __init__(self, row: tuple) -> None:
        (self.name, self.identity, self.arguments, self.result, self.retset, self.volatile,
         self.comment, self.in_names, self.in_types, self.out_cols, grants) = row
        self.grants = [r for r in ROLES if r in (grants or [])]

    @property
    def call_args(self) -> str:
        """The IN arguments as a call passes them on: p_a, p_b, ..."""
        return ", ".join(self.in_names)

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(name, type) of each result column; one unnamed column for a scalar result."""
        return list(self.out_cols or [])


CATALOG = """
select p.proname::text,
       pg_catalog.pg_get_function_identity_arguments(p.oid),
       pg_catalog.pg_get_function_arguments(p.oid),
       pg_catalog.pg_get_function_result(p.oid),
       p.proretset,
       p.provolatile::text,
       pg_catalog.obj_description(p.oid, 'pg_proc'),
       (select pg_catalog.array_agg(a.name order by a.n)
          from unnest(p.proargnames, coalesce(p.proargmodes, pg_catalog.array_fill(
                 'i'::"char", array[coalesce(pg_catalog.cardinality(p.proargnames), 0)])))
                 with ordinality a(name, mode, n)
         where a.mode in ('i', 'b', 'v')),
       (select pg_catalog.array_agg(pg_catalog.format_type(t, null) order by n)
          from pg_catalog.unnest(p.proargtypes::oid[]) with ordinality u(t, n)),
       (select pg_catalog.array_agg(array[a.name, pg_catalog.format_type(a.t, null)]
                                    order by a.n)
          from unnest(p.proargnames, p.proargmodes, p.proallargtypes::oid[])
                 with ordinality a(name, mode, t, n)
         where a.mode in ('o', 't', 'b')),
       (select pg_catalog.array_agg(r.rolname::text)
          from pg_catalog.pg_roles r
         where r.rolname = any (%(roles)s)
           and pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE'))
  from pg_catalog.pg_proc p
 where p.pronamespace = 'durable'::regnamespace
 order by p.proname
"""

VIEWS = """
select c.relname::text,
       pg_catalog.array_agg(array[a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod)]
                            order by a.attnum),
       (select pg_catalog.array_agg(r.rolname::text order by r.rolname)
          from pg_catalog.pg_roles r
         where r.rolname = any (%(roles)s)
           and pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT'))
  from pg_catalog.pg_class c
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
 where c.relnamespace = 'durable'::regnamespace and c.relkind = 'v'
 group by c.oid, c.relname
 order by c.relname
"""


def load(dsn: str) -> tuple[list[Fn], list[tuple[str, list[list[str]], list[str]]], str, str, str]:
    """The public functions, the views, and the definitions the router copies."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(CATALOG, {"roles": list(ROLES)}).fetchall()
        views = conn.execute(VIEWS, {"roles": list(ROLES)}).fetchall()
        defs = [conn.execute("select pg_catalog.pg_get_functiondef(%s::regprocedure)", [f]
                             ).fetchone()[0]  # type: ignore[index]
                for f in ("durable.shard_key(text)", "durable.uuidv7s(integer)")]
        version = conn.execute("select durable.version()").fetchone()[0]  # type: ignore[index]
    fns = [Fn(r) for r in rows]
    public = [f for f in fns if f.grants or f.name in ADMIN_PUBLIC]
    return public, views, defs[0], defs[1], version


def header(version: str) -> str:
    return f"""-- GENERATED by tools/gen_router.py from the catalog of a durable {version} database: do not
-- edit (make test checks it is current: tests/python/test_sharding.py). The PL/Proxy router of a
-- sharded deployment (README: Scaling past one Postgres). Load it into an empty database that
-- has PL/Proxy (Debian postgresql-15-plproxy) as a superuser:
--   psql -d router -f sql/router.sql
--   select durable_router.set_shards(array['host=s0 dbname=durable', 'host=s1 dbname=durable']);
-- after making each of those databases a shard (durable.set_shard on each). Connections to the
-- shards are made as the calling user (PL/Proxy appends user=current_user when a connection
-- string names none): passwords come from ~/.pgpass of the router's server (or a pooler).
\\set ON_ERROR_STOP 1
begin;
create extension if not exists plproxy;
do $roles$
declare
  v_role text;
begin
  foreach v_role in array array['durable_admin', 'durable_worker', 'durable_client',
                                'durable_observer', 'durable_payload_reader'] loop
    if not exists (select from pg_catalog.pg_roles where rolname = v_role) then
      execute pg_catalog.format('create role %I nologin', v_role);
    end if;
  end loop;
end
$roles$;
create schema durable;
create schema durable_router;
create schema if not exists plproxy;
comment on schema durable is
  'The durable API, routed to the shards by PL/Proxy (generated: sql/router.sql).';
comment on schema durable_router is
  'The router''s map and internal functions (generated: sql/router.sql).';
"""


CONFIG = r"""
-- the map: each logical shard (0..255, durable.shard_key) to the connection string of the
-- physical shard that owns it; home is the smallest logical shard of that physical shard (the
-- partition the wrappers name to reach a physical shard once)
create table durable_router.partitions (
  logical integer primary key check (logical between 0 and 255),
  dsn text not null,
  home integer not null
);
create table durable_router.cluster (
  one boolean primary key default true check (one),
  version integer not null default 0
);
insert into durable_router.cluster default values;
-- uuidv7s (copied) reads it: always empty, the router is not a shard
create table durable_router.shard_config (one boolean, logical integer[]);

create function plproxy.get_cluster_version(p_cluster text)
returns integer language sql stable as $$
  select c.version from durable_router.cluster c where p_cluster = 'durable'
$$;
create function plproxy.get_cluster_partitions(p_cluster text)
returns setof text language plpgsql stable as $$
begin
  if p_cluster <> 'durable' or (select count(*) from durable_router.partitions) <> 256 then
    raise exception 'the router has no map of its shards'
      using errcode = 'DU011', hint = 'Run select durable_router.set_shards(array[...]).';
  end if;
  return query select p.dsn from durable_router.partitions p order by p.logical;
end
$$;
create function plproxy.get_cluster_config(in p_cluster text, out key text, out val text)
returns setof record language sql stable as $$
  select 'connection_lifetime'::text, '600'::text
$$;

create function durable_router.shard_info_at(p_dsn text)
returns table (shard integer, logical integer[], logical_count integer)
language plproxy as $$
  connect p_dsn;
  select * from durable.shard_info();
$$;

create function durable_router.set_shards(p_dsns text[])
returns table (shard integer, dsn text, logical_shards integer)
language plpgsql as $$
declare
  v_dsn text;
  v_info record;
  v_seen integer[] := '{}';
begin
  create temporary table if not exists router_new_map (logical integer, dsn text) on commit drop;
  truncate router_new_map;
  foreach v_dsn in array p_dsns loop
    select * into v_info from durable_router.shard_info_at(v_dsn);
    if v_info is null or v_info.shard is null then
      raise exception 'the database of % is not a shard', v_dsn
        using errcode = 'DU011', hint = 'Run durable.set_shard there first.';
    end if;
    if v_seen && v_info.logical then
      raise exception 'logical shards % are claimed by two shards',
          (select pg_catalog.array_agg(k) from pg_catalog.unnest(v_seen) k
            where k = any (v_info.logical))
        using errcode = 'DU011';
    end if;
    v_seen := v_seen || v_info.logical;
    insert into router_new_map select k, v_dsn from pg_catalog.unnest(v_info.logical) k;
  end loop;
  if pg_catalog.cardinality(v_seen) <> 256 then
    raise exception 'the shards own % logical shards of 256', pg_catalog.cardinality(v_seen)
      using errcode = 'DU011', hint = 'Every logical shard 0..255 needs exactly one shard.';
  end if;
  delete from durable_router.partitions;
  insert into durable_router.partitions (logical, dsn, home)
  select m.logical, m.dsn, pg_catalog.min(m.logical) over (partition by m.dsn)
    from router_new_map m;
  update durable_router.cluster set version = version + 1;
  return query
  select (select i.shard from durable_router.shard_info_at(p.dsn) i), p.dsn, pg_catalog.count(*)::integer
    from durable_router.partitions p group by p.dsn order by 1;
end
$$;
comment on function durable_router.set_shards(text[]) is
  'Builds the router''s map from the shards at these connection strings: each one''s '
  'durable.shard_info() names its logical shards, which must cover 0..255 exactly once '
  '(DU011 otherwise). Returns the shards and how many logical shards each owns. Admin.';

-- the shard a workflow id routes to (null ids go to logical shard 0, whose shard refuses them
-- as the single server does)
create function durable_router.route(p_id text)
returns integer language sql immutable parallel safe as $$
  select coalesce(durable.shard_key(p_id), 0)
$$;
-- an id, or for none a random shard (which then makes the id: it belongs to it)
create function durable_router.route_new(p_id text)
returns integer language sql volatile as $$
  select coalesce(durable.shard_key(p_id), pg_catalog.floor(pg_catalog.random() * 256)::integer)
$$;
-- the partition that stands for a workflow's physical shard (batches: one call per shard)
create function durable_router.home(p_id text)
returns integer language sql stable as $$
  select p.home from durable_router.partitions p where p.logical = durable_router.route(p_id)
$$;
-- the physical shards, one partition each, in a random order (claim through the router)
create function durable_router.homes()
returns setof integer language sql volatile as $$
  select distinct p.home from durable_router.partitions p
$$;
"""


def signature(fn: Fn, schema: str = "durable", name: str | None = None) -> str:
    return f"create function {schema}.{name or fn.name}({fn.arguments})\nreturns {fn.result}"


def grants(fn: Fn, what: str) -> str:
    out = f"revoke all on function {what} from public;\n"
    if fn.grants:
        out += f"grant execute on function {what} to {', '.join(fn.grants)};\n"
    return out


def proxy(fn: Fn, run: str, extra: str = "") -> str:
    """A PL/Proxy function of the same name and signature, calling the same function."""
    return (f"{signature(fn)}\nlanguage plproxy as $$\n  cluster 'durable';\n  {run};\n{extra}$$;\n")


def internal_all(fn: Fn, name: str) -> str:
    """durable_router.NAME: fn on every shard, as rows (setof its result)."""
    cols = fn.columns
    if cols:
        ret = "table (" + ", ".join(f"{c} {t}" for c, t in cols) + ")"
    else:
        ret = "setof " + fn.result.replace("SETOF ", "")
    args = ", ".join(f"{n} {t}" for n, t in zip(fn.in_names, fn.in_types))
    select = "" if cols else f"  select durable.{fn.name}({fn.call_args}) as {name};\n"
    target = f"  target durable.{fn.name};\n" if cols else ""
    return (f"create function durable_router.{name}({args})\nreturns {ret}\n"
            f"language plproxy as $$\n  cluster 'durable';\n  run on all;\n{target}{select}$$;\n")


def gen_sum(fn: Fn) -> str:
    inner = f"{fn.name}_all"
    out = internal_all(fn, inner)
    cols = fn.columns
    call = f"durable_router.{inner}({fn.call_args})"
    if cols:
        parts = []
        for c, t in cols:
            agg = AGGREGATES.get(c, "sum")
            parts.append(f"coalesce(pg_catalog.{agg}(r.{c}), false)" if agg.startswith("bool")
                         else f"coalesce(pg_catalog.{agg}(r.{c}), 0)::{t}")
        body = f"  select {', '.join(parts)} from {call} r\n"
    else:
        agg = AGGREGATES.get(fn.name, "sum")
        if agg == "void":
            body = f"  select from {call} r\n"
        elif agg.startswith("bool"):
            body = f"  select pg_catalog.{agg}(r) from {call} r\n"
        elif agg == "max":
            body = f"  select pg_catalog.max(r) from {call} r\n"
        else:
            body = f"  select coalesce(pg_catalog.sum(r), 0)::{fn.result} from {call} r\n"
    return out + f"{signature(fn)}\nlanguage sql volatile as $$\n{body}$$;\n"


def gen_custom(fn: Fn, views: dict[str, list[list[str]]]) -> str:
    n = fn.name
    if n == "claim":
        inner = internal_on(fn, "claim_on")
        return inner + f"""{signature(fn)}
language plpgsql volatile as $$
declare
  v_home integer;
  v_found boolean;
begin
  -- the shards one at a time from a random one, until one hands out work: a worker through
  -- the router is served by every shard, none starved (the order is random at each call)
  for v_home in select h from durable_router.homes() h order by pg_catalog.random() limit 256 loop
    v_found := false;
    for workflow_id, name, queue, input, lease, attempt, max_attempts, steps, trace_context in
        select * from durable_router.claim_on(v_home, {fn.call_args}) limit 1000 loop
      v_found := true;
      return next;
    end loop;
    if v_found then
      return;
    end if;
  end loop;
end
$$;
"""
    if n in ("complete_batch", "fail_batch"):
        args = ", ".join(f"{a} {t}" for a, t in zip(fn.in_names, fn.in_types))
        arrays = [a for a, t in zip(fn.in_names, fn.in_types) if t.endswith("[]")]
        cols = ", ".join(f"{c} {t}" for c, t in fn.columns)
        outs = ", ".join(f"r.{c}" for c, _ in fn.columns)
        # fail_batch's p_retryable may be null (all retryable): split only given arrays
        return f"""create function durable_router.{n}_any({args})
returns table ({cols})
language plproxy as $$
  cluster 'durable';
  run on any;
  target durable.{n};
$$;
create function durable_router.{n}_split({args})
returns table ({cols})
language plproxy as $$
  cluster 'durable';
  split {", ".join(arrays)};
  run on durable_router.route(p_workflow_ids);
  target durable.{n};
$$;
{signature(fn)}
language plpgsql volatile as $$
#variable_conflict use_column
begin
  -- arrays that do not match (or nulls): the single server's refusal, from any shard
  if p_workflow_ids is null or p_leases is null or {arrays[2]} is null
     or pg_catalog.cardinality(p_leases) <> pg_catalog.cardinality(p_workflow_ids)
     or pg_catalog.cardinality({arrays[2]}) <> pg_catalog.cardinality(p_workflow_ids)
     or pg_catalog.cardinality(p_workflow_ids) = 0
     {"or pg_catalog.cardinality(p_retryable) <> pg_catalog.cardinality(p_workflow_ids)" if n == "fail_batch" else ""}
     or pg_catalog.array_position(p_workflow_ids, null) is not null then
    return query select * from durable_router.{n}_any({fn.call_args});
    return;
  end if;
  {"if p_retryable is null then p_retryable := pg_catalog.array_fill(true, array[pg_catalog.cardinality(p_workflow_ids)]); end if;" if n == "fail_batch" else ""}
  -- one call per shard (PL/Proxy splits the arrays by each id's shard, in parallel); the
  -- answers in the order of the ids given, as the single server gives them
  return query
  select {outs}
    from durable_router.{n}_split({fn.call_args}) r
    join (select u.id, pg_catalog.min(u.n) n from pg_catalog.unnest(p_workflow_ids) with ordinality u(id, n)
           group by u.id) o on o.id = r.workflow_id
   order by o.n;
end
$$;
"""
    if n == "enqueue_batch":
        return f"""create function durable_router.enqueue_batch_any(p_workflows jsonb)
returns table (workflow_id text, created boolean)
language plproxy as $$
  cluster 'durable';
  run on any;
  target durable.enqueue_batch;
$$;
create function durable_router.enqueue_batch_split(p_items jsonb[], p_homes integer[])
returns table (workflow_id text, created boolean)
language plproxy as $$
  cluster 'durable';
  split p_items, p_homes;
  run on p_homes;
  select e.workflow_id, e.created
    from durable.enqueue_batch(pg_catalog.array_to_json(p_items)::jsonb) e;
$$;
{signature(fn)}
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_items jsonb[];
  v_homes integer[];
begin
  if p_workflows is null or pg_catalog.jsonb_typeof(p_workflows) <> 'array'
     or pg_catalog.jsonb_array_length(p_workflows) = 0 then
    -- the single server's answer (a refusal, or no rows), from any shard
    return query select * from durable_router.enqueue_batch_any(p_workflows);
    return;
  end if;
  -- the router makes the ids the items lack (they route like any id), then sends each shard
  -- its items in one statement (in parallel): atomic per shard, not across shards
  with items as (
    select i.n,
           case when pg_catalog.jsonb_typeof(i.item) = 'object'
                     and coalesce(i.item->'workflow_id', 'null'::jsonb) = 'null'::jsonb
                then i.item || pg_catalog.jsonb_build_object('workflow_id', g.id::text)
                else i.item end as item
      from pg_catalog.jsonb_array_elements(p_workflows) with ordinality i(item, n)
      join durable_router.uuidv7s(pg_catalog.jsonb_array_length(p_workflows)) g on g.n = i.n)
  select pg_catalog.array_agg(x.item order by x.n),
         pg_catalog.array_agg(durable_router.home(x.item->>'workflow_id') order by x.n)
    into v_items, v_homes
    from items x;
  -- the answers in the order of the items (an id given twice: its answers in their order)
  return query
  with res as (
    select r.workflow_id, r.created,
           pg_catalog.row_number() over (partition by r.workflow_id order by r.k) j
      from durable_router.enqueue_batch_split(v_items, v_homes) with ordinality r(workflow_id, created, k)),
  pos as (
    select u.item->>'workflow_id' as id, u.n,
           pg_catalog.row_number() over (partition by u.item->>'workflow_id' order by u.n) j
      from pg_catalog.unnest(v_items) with ordinality u(item, n))
  select res.workflow_id, res.created
    from res join pos on pos.id = res.workflow_id and pos.j = res.j
   order by pos.n;
end
$$;
"""
    if n == "fork":
        return f"""create function durable_router.fork_on({", ".join(f"{a} {t}" for a, t in zip(fn.in_names, fn.in_types))})
returns text
language plproxy as $$
  cluster 'durable';
  run on durable_router.route(p_workflow_id);
  target durable.fork;
$$;
{signature(fn)}
language plpgsql volatile as $$
begin
  -- the copy is made on the workflow's shard: a new id of another shard could not be found
  if p_new_id is not null
     and durable_router.home(p_new_id) is distinct from durable_router.home(p_workflow_id) then
    raise exception 'p_new_id % belongs to another shard than workflow %', p_new_id, p_workflow_id
      using errcode = 'DU011',
            hint = 'Leave p_new_id null (the workflow''s shard makes the id), or choose one that '
                   'durable.shard_key puts on the same shard.';
  end if;
  return durable_router.fork_on({fn.call_args});
end
$$;
"""
    if n in ("list_runs", "list_runs_meta"):
        view = "runs" if n == "list_runs" else "runs_meta"
        cols = views[view]
        args = ", ".join(f"{a} {t}" for a, t in zip(fn.in_names, fn.in_types))
        tcols = ", ".join(f"{c} {t}" for c, t in cols)
        return f"""create function durable_router.{n}_all({args})
returns table ({tcols})
language plproxy as $$
  cluster 'durable';
  run on all;
  select * from durable.{n}({fn.call_args});
$$;
{signature(fn)}
language plpgsql stable as $$
#variable_conflict use_column
declare
  v_before timestamptz := p_before_created_at;
begin
  -- a page after p_before_id alone: its created_at, from its shard (DU003 when unknown, as the
  -- single server says); then every shard's page, merged in the same order, cut to p_limit
  if p_before_id is not null and v_before is null then
    v_before := durable_router.created_at_of(p_before_id);
    if v_before is null then
      raise exception 'unknown workflow %: the page cannot start after it', p_before_id
        using errcode = 'DU003',
              hint = 'It may have been purged: pass p_before_created_at with it as well.';
    end if;
  end if;
  return query
  select * from durable_router.{n}_all({fn.call_args.replace("p_before_created_at", "v_before")}) r
   order by r.created_at desc, r.id desc
   limit greatest(p_limit, 1);  -- (a limit of 0 would not run the shards' checks)
end
$$;
"""
    if n == "failures_per_day":
        return internal_all(fn, "failures_per_day_all") + f"""{signature(fn)}
language sql stable as $$
  select r.day, pg_catalog.sum(r.failed_runs)::bigint, pg_catalog.sum(r.failed_step_tries)::bigint
    from durable_router.failures_per_day_all(p_days) r
   group by r.day
   order by r.day
$$;
"""
    raise AssertionError(n)


def internal_on(fn: Fn, name: str) -> str:
    """durable_router.NAME(p_partition, args...): fn on the shard of partition p_partition."""
    args = ", ".join(f"{a} {t}" for a, t in zip(fn.in_names, fn.in_types))
    cols = ", ".join(f"{c} {t}" for c, t in fn.columns)
    return (f"create function durable_router.{name}(p_partition integer, {args})\n"
            f"returns table ({cols})\nlanguage plproxy as $$\n  cluster 'durable';\n"
            f"  run on p_partition;\n  select * from durable.{fn.name}({fn.call_args});\n$$;\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn")
    parser.add_argument("--output", default=str(ROOT / "sql" / "router.sql"))
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = generate(args.dsn)
    out = Path(args.output)
    if args.check:
        if not out.exists() or out.read_text() != text:
            print(f"{out} is not what tools/gen_router.py generates from the catalog now: "
                  "run it and commit the result", file=sys.stderr)
            return 1
        print(f"{out} is current")
        return 0
    out.write_text(text)
    print(f"wrote {out}")
    return 0


COMMENT = "Router (sql/router.sql): {how}. On the shard: {source}"
HOW = {
    "id": "runs on the shard of durable.shard_key({arg})",
    "new": "runs on the shard of durable.shard_key(p_workflow_id), or on a random shard that "
           "makes the id when none is given",
    "any": "runs on any shard",
    "all": "runs on every shard: the rows of all of them",
    "sum": "runs on every shard: their answers combined",
    "local": "computed by the router",
    "custom": "see tools/gen_router.py",
}


def generate(dsn: str) -> str:
    """The text of sql/router.sql for the catalog of the database at dsn."""
    fns, view_rows, shard_key_def, uuidv7s_def, version = load(dsn)
    missing = sorted(f.name for f in fns if f.name not in ROUTES and f.name not in NOT_ROUTED)
    if missing:
        raise SystemExit("public functions with no route in tools/gen_router.py: "
                         + ", ".join(missing))
    stale = sorted(set(ROUTES) - {f.name for f in fns})
    if stale:
        raise SystemExit("routes for functions the catalog does not have: " + ", ".join(stale))
    views = {name: [tuple(c) for c in cols] for name, cols, _ in view_rows}
    out = [header(version)]
    out.append("\n-- the routing rule, as on the shards (durable.shard_key)\n"
               + shard_key_def.strip() + ";\n")
    out.append(CONFIG)
    out.append("-- ids the router makes (enqueue_batch items without one), as the shards make them\n"
               + uuidv7s_def.replace("durable.", "durable_router.").strip() + ";\n")
    out.append("create function durable_router.created_at_of(p_id text)\nreturns timestamptz\n"
               "language plproxy as $$\n  cluster 'durable';\n  run on durable_router.route(p_id);\n"
               "  select (select r.created_at from durable.runs_meta r where r.id = p_id) as created_at_of;\n$$;\n")
    out.append("\n-- views: the rows of every shard\n")
    for name, cols, roles in view_rows:
        tcols = ", ".join(f"{c} {t}" for c, t in cols)
        out.append(f"create function durable_router.{name}_all()\nreturns table ({tcols})\n"
                   f"language plproxy as $$\n  cluster 'durable';\n  run on all;\n"
                   f"  select * from durable.{name};\n$$;\n"
                   f"create view durable.{name} as select * from durable_router.{name}_all();\n"
                   f"comment on view durable.{name} is "
                   f"{q(f'Router: the rows of durable.{name} of every shard.')};\n"
                   f"revoke all on function durable_router.{name}_all() from public;\n")
        if roles:
            out.append(f"grant execute on function durable_router.{name}_all() to {', '.join(roles)};\n"
                       f"grant select on durable.{name} to {', '.join(roles)};\n")
    out.append("\n-- functions\n")
    for fn in fns:
        if fn.name in NOT_ROUTED:
            out.append(f"-- durable.{fn.name}: not routed: {NOT_ROUTED[fn.name]}\n")
            continue
        kind, arg = ROUTES[fn.name]
        out.append(f"\n-- durable.{fn.name} ({kind}{' ' + arg if arg else ''})\n")
        if kind == "id":
            out.append(proxy(fn, f"run on durable_router.route({arg})"))
        elif kind == "new":
            out.append(proxy(fn, "run on durable_router.route_new(p_workflow_id)"))
        elif kind == "any":
            out.append(proxy(fn, "run on any"))
        elif kind == "all":
            out.append(proxy(fn, "run on all"))
        elif kind == "sum":
            out.append(gen_sum(fn))
        elif kind == "local":
            pass  # shard_key: copied above
        else:
            out.append(gen_custom(fn, views))
        what = f"durable.{fn.name}({fn.identity})"
        comment = COMMENT.format(how=HOW[kind].format(arg=arg), source=fn.comment or "")
        out.append(f"comment on function {what} is {q(comment)};\n")
        out.append(grants(fn, what))
    # the internal functions run as the caller (PL/Proxy connects as the caller): what a role
    # may do through them is what it may do on the shards
    out.append("\ngrant usage on schema durable, durable_router to " + ", ".join(ROLES) + ";\n")
    out.append("grant select on durable_router.partitions, durable_router.cluster, "
               "durable_router.shard_config to " + ", ".join(ROLES) + ";\n")
    out.append("revoke all on function durable_router.set_shards(text[]), "
               "durable_router.shard_info_at(text) from public;\n")
    out.append("commit;\n")
    return "".join(out)


if __name__ == "__main__":
    sys.exit(main())
