"""WAL per workflow (benchmark, not a test): prints figures, asserts nothing.

WAL is counted record by record with pg_walinspect (contrib, PostgreSQL 15+; needs a
superuser) over the LSN range of each measured step, keeping only the records that touch this
benchmark's database (their block references name its oid) and the commit records of their
transactions: other databases on the same server write WAL in the same range and are left out.
So the figures are deterministic enough for a busy machine; the CPU and rate figures are not.

Three databases, made and dropped by this script (names WAL_BENCH_PREFIX_floor, _old, _new):
  floor  the minimal schema: two bare tables (workflows with bigint ids and one partial index of
         runnable rows, steps keyed by (workflow_id, step_id)), the same statements as plain SQL
  old    sql/durable.sql with the generated ids random (gen_random_uuid(), as before UUIDv7)
  new    sql/durable.sql as it is (time-ordered UUIDv7 ids)
For each, with an empty history and with HISTORY finished workflows (3 steps each, loaded with
generate_series, then vacuum freeze and analyze):
  enqueue  CHECKPOINT, then one durable.enqueue_batch of BATCH workflows
  run      CHECKPOINT, then RUN of those workflows, 3 steps each, run by one connection with
           the statements the worker sends: durable.claim, durable.checkpoint x 3,
           durable.complete_and_claim (which claims the next)
printing WAL bytes per workflow, the full-page images (FPI) among them, commits per workflow,
the backend's CPU ms per workflow (from /proc, so the server must run on this machine) and
workflows/s; then the WAL of each run by relation (FPI and the rest).

Usage: python bench/wal_bench.py ADMIN_DSN  (a superuser on the server, e.g.
       postgresql://root@127.0.0.1:5432/postgres)
Env: HISTORY (1000000), BATCH (5000), RUN (2000), WAL_BENCH_PREFIX (durable_walbench),
     KEEP (unset: drop the databases at the end), VARIANTS (floor,old,new)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO = Path(__file__).resolve().parent.parent
HISTORY = int(os.environ.get("HISTORY", "1000000"))
BATCH = int(os.environ.get("BATCH", "5000"))
RUN = min(int(os.environ.get("RUN", "2000")), BATCH)
PREFIX = os.environ.get("WAL_BENCH_PREFIX", "durable_walbench")
VARIANTS = os.environ.get("VARIANTS", "floor,old,new").split(",")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# the generated ids as before UUIDv7: random (the same functions, random values)
RANDOM_IDS = """
create or replace function durable.uuidv7s(p_count integer) returns table (n bigint, id uuid)
language sql volatile set search_path = pg_catalog, pg_temp
as 'select i::bigint, pg_catalog.gen_random_uuid() from pg_catalog.generate_series(1, p_count) i';
create or replace function durable.uuidv7() returns uuid
language sql volatile set search_path = pg_catalog, pg_temp
as 'select pg_catalog.gen_random_uuid()';
"""

FLOOR_SCHEMA = """
create table workflows (
  id bigint generated always as identity primary key, name text not null,
  status text not null default 'pending', run_at timestamptz not null default now(),
  owner text, lease bigint, input jsonb, output jsonb);
create index workflows_runnable on workflows (run_at) where status = 'pending';
create table steps (
  workflow_id bigint not null, step_id integer not null, output jsonb,
  primary key (workflow_id, step_id));
create sequence lease_seq;
"""
FLOOR_ENQUEUE = ("insert into workflows (name, input) "
                 "select 'noop3', 'null' from generate_series(1, %s)")
FLOOR_CLAIM = """
update workflows w set status = 'running', owner = %s, lease = nextval('lease_seq')
 where w.id = (select id from workflows where status = 'pending' and run_at <= now()
                order by run_at limit 1 for update skip locked)
returning w.id, w.lease"""
FLOOR_STEP = """
insert into steps (workflow_id, step_id, output)
select %s, %s, %s from workflows w where w.id = %s and w.lease = %s and w.status = 'running'"""
FLOOR_COMPLETE = """
update workflows set status = 'succeeded', output = %s, owner = null, lease = null
 where id = %s and lease = %s and status = 'running'"""
FLOOR_COMPLETE_AND_CLAIM = """
with done as (
  update workflows set status = 'succeeded', output = %s, owner = null, lease = null
   where id = %s and lease = %s and status = 'running' returning id)
update workflows w set status = 'running', owner = %s, lease = nextval('lease_seq')
 where w.id = (select id from workflows where status = 'pending' and run_at <= now()
                 and id <> %s order by run_at limit 1 for update skip locked)
returning w.id, w.lease"""

DURABLE_CLAIM = ("select workflow_id, lease from durable.claim(%s::text, %s::text[], 1, "
                 "interval '5 minutes')")
DURABLE_CHECKPOINT = ("select recorded from durable.checkpoint(%s::text, %s::bigint, %s::integer,"
                      " 'noop', %s::jsonb, null::jsonb, now())")
DURABLE_COMPLETE_AND_CLAIM = (
    "select completed, workflow_id, lease from durable.complete_and_claim(%s::text, %s::bigint,"
    " %s::jsonb, %s::text, %s::text[], %s, interval '5 minutes', null, null, null, null)")


def dsn_for(admin: str, db: str) -> str:
    return make_conninfo(**{**conninfo_to_dict(admin), "dbname": db})


def create_db(admin: str, variant: str) -> str:
    db = f"{PREFIX}_{variant}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{db}" with (force)')
        conn.execute(f'create database "{db}"')
    dsn = dsn_for(admin, db)
    if variant == "floor":
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(FLOOR_SCHEMA)
    else:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f",
                        str(REPO / "sql/durable.sql")], check=True, stdout=subprocess.DEVNULL)
        with psycopg.connect(dsn, autocommit=True) as conn:
            if variant == "old":
                conn.execute(RANDOM_IDS)
            conn.execute("select durable.set_queue('bench')")
            conn.execute("select durable.register('wal-bench', %s::jsonb, null, null)",
                         (json.dumps([{"name": "noop3"}]),))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create extension if not exists pg_walinspect")
    return dsn


def drop_db(admin: str, variant: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{PREFIX}_{variant}" with (force)')


def load_history(conn: psycopg.Connection, variant: str, count: int) -> None:
    """count finished workflows of 3 steps, as the workers leave them (status succeeded)."""
    if variant == "floor":
        conn.execute("insert into workflows (name, status, input, output) "
                     "select 'noop3', 'succeeded', 'null', '3' from generate_series(1, %s)",
                     (count,))
        conn.execute("insert into steps (workflow_id, step_id, output) "
                     "select w.id, s, to_jsonb(s) from workflows w, generate_series(0, 2) s "
                     "where w.status = 'succeeded'")
        conn.execute("vacuum (freeze, analyze) workflows, steps")
        return
    conn.execute("""
      insert into durable.workflows (id, name, queue, status, run_at, input, output, created_at,
                                     claimed_at, started_at, finished_at, claims)
      select g.id::text, 'noop3', 'bench', 'succeeded', t, 'null', '3', t, t, t, t, 1
        from durable.uuidv7s(%s) g,
             lateral (select now() - interval '1 day' + g.n * interval '1 ms' as t) a""",
                 (count,))
    conn.execute("""
      insert into durable.steps (workflow_id, step_id, name, output, attempt, lease, created_at)
      select w.id, s, 'noop', to_jsonb(s), 1, 0, w.created_at
        from durable.workflows w, generate_series(0, 2) s where w.status = 'succeeded'""")
    conn.execute("vacuum (freeze, analyze) durable.workflows, durable.steps")


def reset(conn: psycopg.Connection, variant: str) -> None:
    if variant == "floor":
        conn.execute("truncate workflows, steps")
    else:
        conn.execute("truncate durable.workflows, durable.steps, durable.errors cascade")


def backend_cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / CLK_TCK  # utime + stime


BLOCK = re.compile(r"blkref #\d+: rel (\d+)/(\d+)/(\d+) fork (\w+) blk \d+( \(FPW\))?"
                   r"(?:; hole: offset: \d+, length: (\d+))?")


class Wal:
    """WAL of this database between two LSNs, read with pg_walinspect."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.dboid = str(conn.execute(
            "select oid from pg_database where datname = current_database()").fetchone()[0])

    def start(self) -> None:
        # a temporary physical slot keeps the range's WAL until it is read, whatever checkpoint
        # other sessions of the server make meanwhile (dropped when read, or with the session)
        self.slot = f"{PREFIX}_{self.conn.info.backend_pid}"
        self.conn.execute("select pg_create_physical_replication_slot(%s, true, true)",
                          (self.slot,))
        self.conn.execute("checkpoint")
        self.redo = self.conn.execute("select redo_lsn from pg_control_checkpoint()").fetchone()[0]
        self.lsn = self.conn.execute("select pg_current_wal_lsn()").fetchone()[0]

    def stop(self) -> dict:
        end = self.conn.execute("select pg_current_wal_lsn()").fetchone()[0]
        redo = self.conn.execute("select redo_lsn from pg_control_checkpoint()").fetchone()[0]
        # filtered in the server: the range holds the WAL of every database of the server
        rows = self.conn.execute(
            "with r as materialized ("
            "  select xid, resource_manager, record_type, record_length, fpi_length, block_ref"
            "    from pg_get_wal_records_info(%(start)s, %(end)s)),"
            " ours as materialized (select * from r where block_ref like %(pattern)s)"
            " select * from ours union all"
            " select * from r where coalesce(block_ref, '') = ''"
            "   and xid in (select xid from ours where xid <> '0')",
            {"start": self.lsn, "end": end, "pattern": f"%/{self.dboid}/%"}).fetchall()
        self.conn.execute("select pg_drop_replication_slot(%s)", (self.slot,))
        ours = []
        for _, rm, rtype, length, fpi, refs in rows:
            blocks = BLOCK.findall(refs or "")
            if not blocks or any(b[1] == self.dboid for b in blocks):
                ours.append((rm, rtype, length, fpi, blocks))
        names: dict[str, str] = {}
        by_rel: dict[str, list[int]] = {}
        total = fpi_total = commits = 0
        for rm, rtype, length, fpi, blocks in ours:
            total += length
            fpi_total += fpi
            commits += (rm, rtype) == ("Transaction", "COMMIT")
            rel = "(no block)" if not blocks else self.name(names, blocks[0][2], blocks[0][3])
            by_rel.setdefault(rel, [0, 0])[1] += length - fpi
            for _, _, node, fork, fpw, hole in blocks:
                if fpw:
                    by_rel.setdefault(self.name(names, node, fork), [0, 0])[0] += 8192 - int(hole or 0)
        return {"bytes": total, "fpi": fpi_total, "commits": commits, "by_rel": by_rel,
                "checkpointed": redo != self.redo}

    def name(self, names: dict[str, str], node: str, fork: str) -> str:
        if node not in names:
            rel = self.conn.execute("select pg_filenode_relation(0, %s)::text",
                                    (int(node),)).fetchone()[0]
            names[node] = rel or f"filenode {node}"
        return names[node] + ("" if fork == "main" else f" ({fork})")


def run_workflows(conn: psycopg.Connection, variant: str, count: int) -> None:
    """count workflows of 3 steps, with the statements a worker sends, one after the other."""
    worker = "wal-bench"
    if variant == "floor":
        row = conn.execute(FLOOR_CLAIM, (worker,)).fetchone()
        for done in range(1, count + 1):
            wid, lease = row
            for i in range(3):
                conn.execute(FLOOR_STEP, (wid, i, json.dumps(i), wid, lease))
            if done == count:
                conn.execute(FLOOR_COMPLETE, (json.dumps(3), wid, lease))
            else:
                row = conn.execute(FLOOR_COMPLETE_AND_CLAIM,
                                   (json.dumps(3), wid, lease, worker, wid)).fetchone()
        return
    row = conn.execute(DURABLE_CLAIM, (worker, ["bench"])).fetchone()
    for done in range(1, count + 1):
        wid, lease = row
        for i in range(3):
            conn.execute(DURABLE_CHECKPOINT, (wid, lease, i, json.dumps(i)))
        rows = conn.execute(DURABLE_COMPLETE_AND_CLAIM,
                            (wid, lease, json.dumps(3), worker, ["bench"],
                             0 if done == count else 1)).fetchall()
        row = next(((r[1], r[2]) for r in rows if r[1] is not None), None)


def enqueue(conn: psycopg.Connection, variant: str, count: int) -> None:
    if variant == "floor":
        conn.execute(FLOOR_ENQUEUE, (count,))
    else:
        conn.execute("select count(*) from durable.enqueue_batch(%s::jsonb)",
                     (json.dumps([{"name": "noop3", "queue": "bench"}] * count),))


def measure(dsn: str, variant: str, history: int) -> dict:
    with psycopg.connect(dsn, autocommit=True) as conn:
        reset(conn, variant)
        if history:
            t = time.monotonic()
            load_history(conn, variant, history)
            print(f"    ({variant}: {history} finished workflows loaded in "
                  f"{time.monotonic() - t:.0f} s)", flush=True)
        wal = Wal(conn)
        pid = conn.info.backend_pid
        wal.start()
        enqueue(conn, variant, BATCH)
        enq = wal.stop()
        wal.start()
        cpu, t = backend_cpu_ms(pid), time.monotonic()
        run_workflows(conn, variant, RUN)
        elapsed, cpu = time.monotonic() - t, backend_cpu_ms(pid) - cpu
        run = wal.stop()
        run["cpu_ms"] = cpu / RUN
        run["rate"] = RUN / elapsed
        run["n"] = RUN
        enq["n"] = BATCH
        return {"enqueue": enq, "run": run}


def main() -> None:
    admin = sys.argv[1] if len(sys.argv) > 1 else os.environ["DURABLE_BENCH_ADMIN_DSN"]
    print(f"WAL benchmark: enqueue_batch of {BATCH} and {RUN} workflows x 3 steps by plain "
          f"statements, after a CHECKPOINT; empty history vs {HISTORY} finished workflows; "
          f"{os.cpu_count()} cores (CPU and rates: one connection, busy machine)", flush=True)
    results: dict[tuple[str, int], dict] = {}
    try:
        for variant in VARIANTS:
            dsn = create_db(admin, variant)
            for history in (0, HISTORY):
                results[variant, history] = r = measure(dsn, variant, history)
                for what in ("enqueue", "run"):
                    m = r[what]
                    n = m["n"]
                    extra = (f", {m['commits'] / n:.2f} commits, {m['cpu_ms']:.2f} ms CPU, "
                             f"{m['rate']:.0f} wf/s" if what == "run" else "")
                    print(f"  {variant:5} history {history:>7} {what:7}: "
                          f"{m['bytes'] / n:7.0f} B WAL/workflow, FPI "
                          f"{m['fpi'] / n:6.0f} B{extra}"
                          f"{'  (a checkpoint happened in the range)' if m['checkpointed'] else ''}",
                          flush=True)
            if not os.environ.get("KEEP"):
                drop_db(admin, variant)
    finally:
        if not os.environ.get("KEEP"):
            for variant in VARIANTS:
                drop_db(admin, variant)
    print("\nWAL by relation, bytes per workflow (FPI + rest):")
    for (variant, history), r in results.items():
        for what in ("enqueue", "run"):
            top = sorted(r[what]["by_rel"].items(), key=lambda kv: -sum(kv[1]))[:8]
            n = r[what]["n"]
            print(f"  {variant} history {history} {what}: " + "; ".join(
                f"{rel} {fpi / n:.0f}+{rest / n:.0f}" for rel, (fpi, rest) in top))
    print("\nratios:")
    for variant in VARIANTS:
        e0, e1 = results[variant, 0]["enqueue"], results[variant, HISTORY]["enqueue"]
        r0, r1 = results[variant, 0]["run"], results[variant, HISTORY]["run"]
        print(f"  {variant}: with history / empty: enqueue WAL {e1['bytes'] / e0['bytes']:.2f}x, "
              f"run WAL {r1['bytes'] / r0['bytes']:.2f}x (target <= 1.3), "
              f"run rate {r1['rate'] / r0['rate']:.2f}x")
        if variant != "floor" and "floor" in VARIANTS:
            f0 = results["floor", 0]["run"]
            print(f"  {variant} / floor, empty history: run WAL {r0['bytes'] / f0['bytes']:.2f}x "
                  f"(target <= 1.5), CPU {r0['cpu_ms'] / f0['cpu_ms']:.2f}x (target <= 1.5), "
                  f"rate {r0['rate'] / f0['rate']:.2f}x")


if __name__ == "__main__":
    main()
