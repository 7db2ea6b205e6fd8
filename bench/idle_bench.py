"""Idle workers (benchmark, not a test): claims per enqueue, commits per second, latency.

With WORKERS idle `durable worker` processes (bench.app, CONCURRENCY slots each) on a database
of its own (IDLE_BENCH_DB, made from sql/durable.sql and dropped at the end):
  1. claims per single enqueue: ENQUEUES workflows enqueued one at a time, each run to its end
     before the next; every durable.claim call is counted from the workers' debug lines (one
     per call, written when it returns), with their poll far off (--poll-interval 3600) so that
     only the notifications make them claim. Counts, not times: the same on a busy machine.
  2. commits per second while idle: pg_stat_database.xact_commit of the database over
     IDLE_SECONDS with the workers at their defaults (poll 1 s, heartbeat 10 s), minus this
     script's own statements; and the durable.claim calls among them (track_functions = pl).
  3. enqueue to first step with idle workers: python_bench.py's part 2 (SAMPLES samples).

Usage: python bench/idle_bench.py ADMIN_DSN  (a superuser, e.g. postgresql://root@127.0.0.1/postgres)
Env: WORKERS (2), CONCURRENCY (8), ENQUEUES (20), IDLE_SECONDS (30), SAMPLES (100),
     IDLE_BENCH_DB (durable_idlebench)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKERS = int(os.environ.get("WORKERS", "2"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
ENQUEUES = int(os.environ.get("ENQUEUES", "20"))
IDLE_SECONDS = float(os.environ.get("IDLE_SECONDS", "30"))
os.environ.setdefault("SAMPLES", "100")
DB = os.environ.get("IDLE_BENCH_DB", "durable_idlebench")
CLAIM_LINE = re.compile(rb"claim by (\S+): asked for \d+, got \d+")

sys.path.insert(0, str(HERE))
import python_bench  # its latency measurement (part 2)


def start(dsn: str, logs: Path, *extra: str) -> list[tuple[subprocess.Popen, Path]]:
    env = dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = []
    for i in range(WORKERS):
        log = logs / f"worker-{i}-{time.monotonic_ns()}.log"
        with open(log, "wb") as f:
            out.append((subprocess.Popen(
                [sys.executable, "-m", "durable", "worker", "bench.app:app", "--queues", "bench",
                 "--concurrency", str(CONCURRENCY), "--worker-id", f"idle-{i}", *extra],
                env=env, cwd=REPO, stdout=f, stderr=subprocess.STDOUT), log))
    with psycopg.connect(dsn, autocommit=True) as conn:
        while conn.execute("select count(*) from durable.workers").fetchone()[0] < WORKERS:
            time.sleep(0.05)
    time.sleep(1.0)  # start-up claims done: idle, asleep on LISTEN
    return out


def stop(procs: list[tuple[subprocess.Popen, Path]]) -> None:
    for p, _ in procs:
        p.terminate()
    for p, _ in procs:
        p.wait(timeout=60)


def claims(procs: list[tuple[subprocess.Popen, Path]]) -> list[bytes]:
    return [m for _, log in procs for m in CLAIM_LINE.findall(log.read_bytes())]


def main() -> None:
    admin = sys.argv[1] if len(sys.argv) > 1 else os.environ["DURABLE_BENCH_ADMIN_DSN"]
    dsn = make_conninfo(**{**conninfo_to_dict(admin), "dbname": DB})
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{DB}" with (force)')
        conn.execute(f'create database "{DB}"')
        conn.execute(f'alter database "{DB}" set track_functions = pl')
    try:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f",
                        str(REPO / "sql/durable.sql")], check=True, stdout=subprocess.DEVNULL)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("select durable.set_queue('bench')")
        print(f"idle workers: {WORKERS} processes x {CONCURRENCY} slots, {os.cpu_count()} cores "
              "(busy machine: latencies are not to be trusted, counts are)", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            procs = start(dsn, Path(tmp), "--poll-interval", "3600", "--log-level", "DEBUG")
            try:
                before = len(claims(procs))
                with psycopg.connect(dsn, autocommit=True) as conn:
                    for i in range(ENQUEUES):
                        wid = conn.execute("select workflow_id from durable.enqueue("
                                           "'noop3', 'null', 'bench')").fetchone()[0]
                        while conn.execute("select status from durable.workflows where id = %s",
                                           (wid,)).fetchone()[0] != "succeeded":
                            time.sleep(0.01)
                        time.sleep(0.2)  # every process has answered the notification
                got = claims(procs)[before:]
            finally:
                stop(procs)
        by = {t.decode(): got.count(t) for t in set(got)}
        print(f"claims per single enqueue ({ENQUEUES} enqueues, all processes together): "
              f"{len(got) / ENQUEUES:.2f} (by thread: {by}; target <= 1.1)", flush=True)

        with tempfile.TemporaryDirectory() as tmp:
            procs = start(dsn, Path(tmp))
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    q = ("select xact_commit, (select coalesce(sum(calls), 0)::bigint from "
                         "pg_stat_user_functions where schemaname = 'durable' and funcname = "
                         "'claim') from pg_stat_database where datname = current_database()")
                    time.sleep(2)  # the stats of the start-up flushed
                    conn.execute("select pg_stat_clear_snapshot()")
                    c0, k0 = conn.execute(q).fetchone()
                    time.sleep(IDLE_SECONDS)
                    conn.execute("select pg_stat_clear_snapshot()")
                    c1, k1 = conn.execute(q).fetchone()
            finally:
                stop(procs)
        # this script's own statements in the window: the clear and the query (2)
        print(f"idle: {(c1 - c0 - 2) / IDLE_SECONDS:.2f} commits/s, of which durable.claim "
              f"{(k1 - k0) / IDLE_SECONDS:.2f}/s ({WORKERS} processes, {IDLE_SECONDS:.0f} s; "
              "the heartbeat: 3 statements per process per 10 s)", flush=True)

        os.environ["WORKERS"] = str(WORKERS)
        lat = python_bench.latency(dsn)
        print(f"enqueue to first step, idle workers ({len(lat)} samples): p50 "
              f"{python_bench.pct(lat, 50):.2f} ms, p99 {python_bench.pct(lat, 99):.2f} ms "
              "(target p50 <= 3 ms; busy machine)")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{DB}" with (force)')


if __name__ == "__main__":
    main()
