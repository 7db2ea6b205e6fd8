"""Back-pressure (benchmark, not a test): an application's latency while workflows drain.

The "application" is pgbench's built-in simple-update script (-N: a short read/write
transaction: an update, a select and an insert) at a fixed rate (pgbench -R RATE, CLIENTS
clients), on the same database as durable (BP_BENCH_DB, made from sql/durable.sql with
`pgbench -i`, dropped at the end). Three runs, repeated REPEATS times, interleaved:
  alone   the application alone for DURATION seconds;
  off     WORKFLOWS noop3 workflows (bench/app.py: 3 no-op steps) enqueued before, drained by
          one `durable worker` (CONCURRENCY slots on CONNECTIONS pooled connections) started one
          second into the application's run, back-pressure off;
  on      the same with --backpressure (durable.limiter.GradientLimit: Envoy's adaptive
          concurrency gradient on the latency of the worker's own calls).
For each run: the application's p50 and p99 latency (pgbench's per-transaction log; with -R a
transaction's latency counts from its scheduled start, so queueing behind a slow server counts)
over the transactions that ended while the workflows drained (the whole run when alone), and
the drain time (worker start to the last workflow finished). Printed: the median of each over
the repeats, and the ratios the issue sets as targets: p99 on / p99 alone <= 1.5, drain rate
on / drain rate off >= 0.5.

Usage: python bench/backpressure_bench.py ADMIN_DSN  (a superuser, e.g.
postgresql://root@127.0.0.1/postgres)
Env: WORKFLOWS (50000), RATE (200 transactions/s), CLIENTS (4), DURATION (seconds, 60: longer
     than a drain, or the drain is reported unfinished), CONCURRENCY (32), CONNECTIONS (8),
     REPEATS (3), BP_BENCH_DB (durable_bpbench)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKFLOWS = int(os.environ.get("WORKFLOWS", "50000"))
RATE = int(os.environ.get("RATE", "200"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
DURATION = int(os.environ.get("DURATION", "60"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "32"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "8"))
REPEATS = int(os.environ.get("REPEATS", "3"))
DB = os.environ.get("BP_BENCH_DB", "durable_bpbench")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def enqueue(dsn: str) -> None:
    """WORKFLOWS noop3 workflows, pending, in batches of 1000 (one statement each)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("truncate durable.workflows cascade")  # the last run's, all finished
        for start in range(0, WORKFLOWS, 1000):
            n = min(1000, WORKFLOWS - start)
            conn.execute("select count(*) from durable.enqueue_batch(%s::jsonb)",
                         [psycopg.types.json.Jsonb([{"name": "noop3", "queue": "bench"}] * n)])
        conn.execute("vacuum analyze durable.workflows")


def run(dsn: str, logs: Path, mode: str) -> tuple[list[float], float | None]:
    """One run: (the application's latencies in ms over the drain, the drain time in seconds or
    None when it did not end within DURATION)."""
    if mode != "alone":
        enqueue(dsn)
    prefix = logs / f"pgbench-{mode}-{time.monotonic_ns()}"
    params = conninfo_to_dict(dsn)
    env = dict(os.environ, PGHOST=str(params.get("host", "127.0.0.1")),
               PGPORT=str(params.get("port", 5432)), PGUSER=str(params.get("user", "root")))
    bench = subprocess.Popen(
        ["pgbench", "-n", "-N", "-R", str(RATE), "-c", str(CLIENTS), "-j", str(min(CLIENTS, 2)),
         "-T", str(DURATION), "-l", "--log-prefix", str(prefix), DB],
        cwd=logs, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    begin, end, worker = time.time(), None, None
    if mode != "alone":
        wenv = dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1",
                    PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        extra = ["--backpressure"] if mode == "on" else []
        with open(logs / f"worker-{mode}.log", "ab") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "durable", "worker", "bench.app:app", "--queues", "bench",
                 "--concurrency", str(CONCURRENCY), "--connections", str(CONNECTIONS),
                 "--log-level", "WARNING", "--worker-id", f"bp-{mode}", *extra],
                env=wenv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        begin = time.time()
        with psycopg.connect(dsn, autocommit=True) as conn:
            while bench.poll() is None:
                left = conn.execute("select count(*) from durable.workflows"
                                    " where status <> 'succeeded'").fetchone()[0]
                if left == 0:
                    end = time.time()
                    break
                time.sleep(0.2)
        worker.terminate()
        worker.wait(60)
    _, err = bench.communicate()
    if bench.returncode != 0:
        raise SystemExit(f"pgbench failed: {err.decode()}")
    latencies = []
    for log in logs.glob(prefix.name + "*"):
        for line in log.read_text().splitlines():
            # client_id transaction_no time_us script_no time_epoch time_us_part [lag]
            fields = line.split()
            done_at = int(fields[4]) + int(fields[5]) / 1e6
            if begin <= done_at <= (end if end is not None else float("inf")):
                latencies.append(int(fields[2]) / 1000)
    return latencies, (end - begin) if end is not None else None


def main() -> None:
    admin = sys.argv[1] if len(sys.argv) > 1 else os.environ["DURABLE_BENCH_ADMIN_DSN"]
    dsn = make_conninfo(**{**conninfo_to_dict(admin), "dbname": DB})
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{DB}" with (force)')
        conn.execute(f'create database "{DB}"')
    try:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f",
                        str(REPO / "sql/durable.sql")], check=True, stdout=subprocess.DEVNULL)
        params = conninfo_to_dict(dsn)
        subprocess.run(["pgbench", "-i", "-q", "-s", "1", "-h", str(params.get("host", "")),
                        "-p", str(params.get("port", 5432)), "-U", str(params.get("user", "root")),
                        DB], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("select durable.set_queue('bench')")
        print(f"back-pressure: application = pgbench -N -R {RATE} -c {CLIENTS}; {WORKFLOWS} "
              f"noop3 workflows; 1 worker x {CONCURRENCY} slots on {CONNECTIONS} connections; "
              f"{REPEATS} repeats; {os.cpu_count()} cores shared with other work (figures from a "
              "busy machine)", flush=True)
        results: dict[str, list[tuple[float, float, float | None]]] = {
            "alone": [], "off": [], "on": []}
        with tempfile.TemporaryDirectory() as tmp:
            for repeat in range(REPEATS):
                for mode in ("alone", "off", "on"):
                    lat, drain = run(dsn, Path(tmp), mode)
                    results[mode].append((pct(lat, 50), pct(lat, 99), drain))
                    print(f"  repeat {repeat + 1} {mode:5}: p50 {pct(lat, 50):6.2f} ms, p99 "
                          f"{pct(lat, 99):6.2f} ms over {len(lat)} transactions"
                          + ("" if mode == "alone" else
                             f", drain {drain:.1f} s" if drain is not None else
                             f", NOT drained in {DURATION} s"), flush=True)

        def med(mode: str, i: int) -> float:
            vals = [r[i] for r in results[mode] if r[i] is not None]
            return statistics.median(vals) if vals else float("nan")

        for mode in ("alone", "off", "on"):
            drain = "" if mode == "alone" else f", drain {med(mode, 2):.1f} s " \
                f"({WORKFLOWS / med(mode, 2):.0f} workflows/s)"
            print(f"median {mode:5}: application p50 {med(mode, 0):.2f} ms, p99 "
                  f"{med(mode, 1):.2f} ms{drain}")
        print(f"p99 off / alone = {med('off', 1) / med('alone', 1):.2f}; p99 on / alone = "
              f"{med('on', 1) / med('alone', 1):.2f} (target <= 1.5); drain rate on / off = "
              f"{med('off', 2) / med('on', 2):.2f} (target >= 0.5)")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{DB}" with (force)')


if __name__ == "__main__":
    main()
