"""Sharding benchmark (not a test): prints figures, asserts nothing (issue 14).

One private cluster (tests/chaos/pgcluster.py; Debian's PostgreSQL 15 with PL/Proxy) holds a
plain durable database ("direct"), four shards and a PL/Proxy router over them (sql/router.sql).
In one run, alternating, RUNS times each:

  direct   WORKERS `durable worker` processes x CONCURRENCY slots on the plain database
  router   the same workers, unchanged, connected to the router (every call through PL/Proxy)
  sharded  WORKERS processes with --shard for each of the 4 shards, CONCURRENCY / 4 slots per
           shard (the same slots in all), claiming from the shards directly

Each run enqueues WORKFLOWS noop3 workflows (3 no-op steps, bench/app.py) in one batch (through
the router for router mode, on the shards by id for sharded mode) with the workers idle, and
times from that commit to the last completion: workflows/s, medians of RUNS. For each mode it
also reads the cluster's server CPU (utime + stime of the postmaster and all its processes, from
/proc, over the run) and WAL (pg_current_wal_lsn) per workflow: the cluster holds nothing else.

Router call overhead: SAMPLES sequential calls of durable.result (one workflow) and of
durable.enqueue, through the router and on the shard directly, p50 and p99 of each and the
difference (one connection each, its statements prepared).

Targets (issue 14): sharded >= 0.9x direct; the router adds <= 0.5 ms p50 per call. On this
2-core machine all shards share the same cores, so sharding cannot raise throughput here; the
README (Scaling past one Postgres) turns the per-workflow costs into shards per target rate.

Usage: python bench/shard_bench.py [--port 6450]
Env: RUNS (3), WORKFLOWS (2000), WORKERS (2), CONCURRENCY (8), SAMPLES (2000),
     WORKFLOW (noop3; noop0 for workflows of no step)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "chaos"))
import pgcluster

sys.path.insert(0, str(REPO / "python_client"))
from durable.sharding import ShardMap

RUNS = int(os.environ.get("RUNS", "3"))
WORKFLOWS = int(os.environ.get("WORKFLOWS", "2000"))
WORKERS = int(os.environ.get("WORKERS", "2"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
SAMPLES = int(os.environ.get("SAMPLES", "2000"))
WORKFLOW = os.environ.get("WORKFLOW", "noop3")  # or noop0: no step
SHARDS = 4
TICK = os.sysconf("SC_CLK_TCK")


def cluster_cpu_ms(cluster: pgcluster.Cluster) -> float:
    """utime + stime (ms) of the postmaster and its processes now (exited ones not counted)."""
    pid = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                pids.append(int(entry.name))
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total * 1000 / TICK


def wal(conn: psycopg.Connection) -> int:
    return int(conn.execute("select pg_current_wal_lsn() - '0/0'").fetchone()[0])  # type: ignore[index]


def start_workers(dsns: list[str], sharded: bool, logdir: Path, tag: str) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    procs = []
    for i in range(WORKERS):
        if sharded:
            target = [a for d in dsns for a in ("--shard", d)]
            conc = max(1, CONCURRENCY // SHARDS)
        else:
            target = []
            env["DATABASE_URL"] = dsns[0]
            conc = CONCURRENCY
        log = (logdir / f"{tag}-{i}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "app:app", "--path", str(HERE),
             "--queues", "bench", "--concurrency", str(conc), "--poll-interval", "0.2",
             "--log-level", "WARNING", *target],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE))
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


def wait_registered(dsns: list[str], count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        n = 0
        for d in dsns:
            with psycopg.connect(d, autocommit=True) as c:
                n += c.execute("select count(*) from durable.workers").fetchone()[0]  # type: ignore[index]
        if n >= count:
            return
        time.sleep(0.1)
    raise RuntimeError("workers did not register")


def succeeded(conns: list[psycopg.Connection]) -> int:
    return sum(c.execute("select count(*) from durable.workflows where queue = 'bench' "
                         "and status = 'succeeded'").fetchone()[0] for c in conns)  # type: ignore[index]


def one_run(mode: str, cluster: pgcluster.Cluster, direct: str, shards: list[str],
            router: str, smap: ShardMap, logdir: Path, n: int) -> dict[str, float]:
    """One timed run of mode; workflows/s, server CPU ms and WAL bytes per workflow."""
    targets = {"direct": [direct], "router": [router], "sharded": shards}[mode]
    homes = [direct] if mode == "direct" else shards
    conns = [psycopg.connect(d, autocommit=True) for d in homes]
    for c in conns:
        c.execute("delete from durable.workflows where queue = 'bench'")
        c.execute("checkpoint")
    procs = start_workers(targets, mode == "sharded", logdir, f"{mode}{n}")
    try:
        wait_registered(homes if mode != "router" else shards,
                        WORKERS * (SHARDS if mode != "direct" else 1))
        time.sleep(0.5)  # idle: their first claims done
        items = [{"name": WORKFLOW, "queue": "bench", "workflow_id": f"b{n}-{mode}-{i}"}
                 for i in range(WORKFLOWS)]
        cpu0, wal0 = cluster_cpu_ms(cluster), wal(conns[0])
        began = time.monotonic()
        if mode == "sharded":
            groups: dict[int, list[dict[str, str]]] = {}
            for item in items:
                groups.setdefault(smap.index_for(item["workflow_id"]), []).append(item)
            for index, group in groups.items():
                with psycopg.connect(shards[index], autocommit=True) as c:
                    c.execute("select count(*) from durable.enqueue_batch(%s)", [Jsonb(group)])
        else:
            with psycopg.connect(targets[0], autocommit=True) as c:
                c.execute("select count(*) from durable.enqueue_batch(%s)", [Jsonb(items)])
        while succeeded(conns) < WORKFLOWS:
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a {mode} worker exited: see {logdir}")
            time.sleep(0.02)
        seconds = time.monotonic() - began
        cpu = cluster_cpu_ms(cluster) - cpu0
        wal_bytes = wal(conns[0]) - wal0
    finally:
        stop_workers(procs)
        for c in conns:
            c.close()
    return {"rate": WORKFLOWS / seconds, "cpu_ms": cpu / WORKFLOWS, "wal": wal_bytes / WORKFLOWS}


def latencies(dsn: str, sql: str, args_of: object) -> list[float]:
    out = []
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as c:
        for i in range(SAMPLES):
            began = time.perf_counter()
            c.execute(sql, args_of(i)).fetchall()  # type: ignore[operator]
            out.append((time.perf_counter() - began) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = pgcluster.workspace("durable-shardbench-")
    cluster = pgcluster.Cluster(root, "pg", args.port)
    cluster.initdb(max_connections="200", shared_buffers="'128MB'").start()
    logdir = root / "logs"
    logdir.mkdir()
    try:
        direct = pgcluster.deploy(cluster, "direct", REPO)
        shards = []
        for i in range(SHARDS):
            if i == 0:
                dsn = pgcluster.deploy(cluster, "s0", REPO)
            else:
                cluster.sql(f"create database s{i} template s0")
                dsn = cluster.dsn(f"s{i}")
            cluster.sql(f"select durable.set_shard({i}, {SHARDS})", f"s{i}")
            shards.append(dsn)
        cluster.sql("create database router")
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", cluster.dsn("router"),
                        "-f", str(REPO / "sql" / "router.sql")], check=True, capture_output=True)
        router = cluster.dsn("router")
        libpq = [psycopg.conninfo.make_conninfo("", **psycopg.conninfo.conninfo_to_dict(d)) for d in shards]
        with psycopg.connect(router, autocommit=True) as c:
            c.execute("select * from durable_router.set_shards(%s)", [libpq])
        for d in [direct, *shards]:
            with psycopg.connect(d, autocommit=True) as c:
                c.execute("select durable.set_queue('bench')")
        smap = ShardMap.from_dsns(shards)

        results: dict[str, list[dict[str, float]]] = {"direct": [], "router": [], "sharded": []}
        for n in range(RUNS):
            for mode, done in results.items():
                r = one_run(mode, cluster, direct, shards, router, smap, logdir, n)
                done.append(r)
                print(f"run {n + 1}/{RUNS} {mode:8s} {r['rate']:7.0f} workflows/s  "
                      f"server CPU {r['cpu_ms']:.2f} ms/workflow  WAL {r['wal']:.0f} B/workflow",
                      flush=True)

        # router overhead per call: the same calls through the router and on the shard
        with psycopg.connect(router, autocommit=True) as c:
            c.execute("select durable.set_queue('lat')")
            wid = c.execute("select workflow_id from durable.enqueue('noop3', p_queue => 'lat',"
                            " p_workflow_id => 'lat-1')").fetchone()[0]  # type: ignore[index]
        home = smap.dsn_for(wid)
        calls = {
            "result": ("select * from durable.result(%s)", lambda i: [wid]),
            "enqueue": (("select * from durable.enqueue('noop3', p_queue => 'lat', "
                         "p_workflow_id => %s)"), lambda i: [f"lat-{i % 50}"]),
        }
        overhead = {}
        for name, (sql, args_of) in calls.items():
            # enqueue by id on one shard: ids lat-0..49 that live on wid's shard
            if name == "enqueue":
                ids = [f"lat-{k}" for k in range(2000) if smap.dsn_for(f"lat-{k}") == home][:50]
                args_of = lambda i, ids=ids: [ids[i % len(ids)]]
            d = latencies(home, sql, args_of)
            r = latencies(router, sql, args_of)
            overhead[name] = (pct(d, 0.5), pct(r, 0.5), pct(d, 0.99), pct(r, 0.99))

        print("\n== shard_bench (one private PostgreSQL 15 cluster; 2-core machine shared with "
              "other work: figures are indicative) ==")
        print(f"{WORKFLOWS} {WORKFLOW} workflows ({3 if WORKFLOW == 'noop3' else 0} steps) per run, {WORKERS} worker processes, "
              f"{CONCURRENCY} slots each ({CONCURRENCY // SHARDS} per shard when sharded), "
              f"medians of {RUNS} runs")
        base = statistics.median(r["rate"] for r in results["direct"])
        summary = {}
        for mode, rs in results.items():
            rate = statistics.median(r["rate"] for r in rs)
            cpu = statistics.median(r["cpu_ms"] for r in rs)
            walb = statistics.median(r["wal"] for r in rs)
            summary[mode] = {"rate": rate, "ratio": rate / base, "cpu_ms": cpu, "wal": walb}
            print(f"  {mode:8s} {rate:7.0f} workflows/s  {rate / base:5.2f}x direct   "
                  f"server CPU {cpu:5.2f} ms/workflow   WAL {walb:6.0f} B/workflow")
        print(f"router overhead per call ({SAMPLES} sequential calls, one connection each):")
        for name, (dp50, rp50, dp99, rp99) in overhead.items():
            print(f"  {name:8s} direct p50 {dp50:.3f} ms, router p50 {rp50:.3f} ms: "
                  f"+{rp50 - dp50:.3f} ms p50 (p99 {dp99:.3f} -> {rp99:.3f} ms)")
        print("json:", json.dumps({"modes": summary, "overhead_ms": {
            k: {"direct_p50": v[0], "router_p50": v[1], "added_p50": v[1] - v[0]}
            for k, v in overhead.items()}}))
    finally:
        if args.keep:
            print(f"kept {root}")
            cluster.stop()
        else:
            pgcluster.remove(root, cluster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
