"""What the exporter's queries (monitoring/queries.yaml) cost with 1,000,000 runs in the tables.

Loads a database with RUNS runs (finished ones spread over 30 days, a few thousand finished in
the last 5 minutes, some pending, running, waiting), 3 steps each, and failed step tries; then
runs every query of the queries file as durable_observer, REPEAT times, and prints per query the
median and worst time, the plan's top node and whether any node is a sequential scan of the
workflows, steps or errors table (the scrape must not read the history).

usage: DURABLE_BENCH_DSN=postgresql://... python bench/exporter_bench.py [--runs N] [--keep]
The DSN's database must be deployed and empty of runs; the loader TRUNCATEs durable's tables.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import psycopg
import yaml

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "monitoring" / "queries.yaml"
REPEAT = 7


def load(conn: psycopg.Connection, runs: int) -> float:
    """Fill durable's tables; seconds taken."""
    start = time.perf_counter()
    conn.execute("truncate durable.workflows, durable.steps, durable.errors, durable.waits, "
                 "durable.messages, durable.events, durable.workers cascade")
    for q in range(5):
        conn.execute("select durable.set_queue(%s)", [f"q{q}"])
    active = 15_000
    recent = 3_000
    old = runs - active - recent
    # workers: 8 alive, 2 dead (holding some running runs)
    conn.execute(
        "insert into durable.workers (id, started_at, heartbeat_at, lease_timeout, expires_at)"
        " select 'w' || g, now() - interval '1 hour', now() - case when g > 8 then"
        " interval '10 minutes' else interval '1 second' end, interval '30 seconds',"
        " now() - case when g > 8 then interval '9 minutes' else interval '-29 seconds' end"
        " from generate_series(1, 10) g")
    common = ("insert into durable.workflows (id, name, queue, status, run_at, input, output,"
              " error, created_at, claimed_at, started_at, finished_at, claims, owner, lease)")
    # finished long ago (1% failed, 0.5% cancelled)
    conn.execute(
        common + " select 'old-' || g, 'wf' || (g %% 20), 'q' || (g %% 5),"
        " case when g %% 100 = 0 then 'failed' when g %% 200 = 1 then 'cancelled'"
        " else 'succeeded' end, t, '{}',"
        " case when g %% 100 = 0 or g %% 200 = 1 then null else '{}'::jsonb end,"
        " case when g %% 100 = 0 or g %% 200 = 1 then '{\"type\": \"E\"}'::jsonb end,"
        " t, t, t, t + interval '2 seconds', 1, null, null"
        " from (select g, now() - interval '6 minutes' - random() * interval '30 days' as t"
        "       from generate_series(1, %s) g) x", [old])
    # finished in the last 5 minutes
    conn.execute(
        common + " select 'new-' || g, 'wf' || (g %% 20), 'q' || (g %% 5),"
        " case when g %% 50 = 0 then 'failed' else 'succeeded' end, t, '{}',"
        " case when g %% 50 = 0 then null else '{}'::jsonb end,"
        " case when g %% 50 = 0 then '{\"type\": \"E\"}'::jsonb end,"
        " t, t, t, t + random() * interval '3 seconds', 1, null, null"
        " from (select g, now() - random() * interval '290 seconds' as t"
        "       from generate_series(1, %s) g) x", [recent])
    # unfinished: pending (some scheduled ahead), running, waiting
    conn.execute(
        common + " select 'act-' || g, 'wf' || (g %% 20), 'q' || (g %% 5), s,"
        " case when s = 'pending' and g %% 3 = 0 then now() + interval '1 hour'"
        " else now() - random() * interval '10 minutes' end, '{}', null, null,"
        " now() - interval '10 minutes', case when s = 'running' then now() end,"
        " case when s <> 'pending' then now() end, null, case when s = 'pending' then 0 else 1 end,"
        " case when s = 'running' then 'w' || (1 + g %% 10) end,"
        " case when s = 'running' then g end"
        " from (select g, case when g %% 15 < 10 then 'pending' when g %% 15 < 11 then 'running'"
        "       else 'waiting' end as s from generate_series(1, %s) g) x", [active])
    conn.execute(
        "insert into durable.steps (workflow_id, step_id, name, output, attempt, lease,"
        " started_at, created_at)"
        " select w.id, s, 'step' || s, '{}', 1, 0, w.created_at + s * interval '1 second',"
        " w.created_at + s * interval '1 second' + random() * interval '1 second'"
        " from durable.workflows w, generate_series(0, 2) s where w.status <> 'pending'")
    conn.execute(
        "insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)"
        " select w.id, 1, 'step1', 1, '{\"type\": \"E\"}', w.finished_at"
        " from durable.workflows w where w.status = 'failed'")
    conn.execute("vacuum analyze durable.workflows, durable.steps, durable.errors, "
                 "durable.workers")
    return time.perf_counter() - start


def nodes(plan: dict) -> list[dict]:
    out = [plan]
    for child in plan.get("Plans", []):
        out.extend(nodes(child))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--no-load", action="store_true", help="use the rows already there")
    parser.add_argument("--jit", action="store_true", help="leave JIT on (the server's default)")
    args = parser.parse_args()
    dsn = os.environ["DURABLE_BENCH_DSN"]
    queries = yaml.safe_load(QUERIES.read_text())
    with psycopg.connect(dsn, autocommit=True) as conn:
        if not args.no_load:
            print(f"loading {args.runs:,} runs ...", flush=True)
            print(f"loaded in {load(conn, args.runs):.0f} s")
        counts = dict(conn.execute(
            "select status, count(*) from durable.workflows group by status").fetchall())
        steps = conn.execute("select count(*) from durable.steps").fetchone()[0]
        print(f"rows: {json.dumps(counts)}, steps {steps:,}")
        role = conn.execute("select pg_catalog.current_setting('is_superuser')").fetchone()[0]
        assert role == "on", "run as a superuser: the queries are run under set role"
        conn.execute("set role durable_observer")
        # as the README advises for the exporter's login (alter role ... set jit = off): the
        # small queues table is never analyzed, its estimate of 840 rows makes queue_stats look
        # costly, and compiling it took 0.7 s of JIT for a 45 ms query
        conn.execute(f"set jit = {'on' if args.jit else 'off'}")
        print(f"{'query':32} {'median ms':>10} {'worst ms':>9}  seq scan of a big table  plan")
        total = []
        for name, spec in queries.items():
            times = []
            for _ in range(REPEAT):
                start = time.perf_counter()
                conn.execute(spec["query"]).fetchall()
                times.append((time.perf_counter() - start) * 1000)
            plan = conn.execute("explain (format json) " + spec["query"]).fetchone()[0][0]["Plan"]
            seq = sorted({n.get("Relation Name") for n in nodes(plan)
                          if n["Node Type"] == "Seq Scan"
                          and n.get("Relation Name") in ("workflows", "steps", "errors")})
            idx = sorted({n.get("Index Name") for n in nodes(plan) if n.get("Index Name")})
            total.append(statistics.median(times))
            print(f"{name:32} {statistics.median(times):10.2f} {max(times):9.2f}  "
                  f"{','.join(seq) or 'none':24} indexes: {', '.join(idx) or '-'}")
        print(f"{'one scrape (sum of medians)':32} {sum(total):10.2f}")


if __name__ == "__main__":
    main()
