"""Python client benchmark (not a test): prints figures, asserts nothing.

  1. Throughput: WORKFLOWS workflows of 3 no-op steps, enqueued in one batch, run by WORKERS
     `durable worker` processes x CONCURRENCY slots; workflows/s and steps/s from the commit of
     the enqueue (which wakes the idle workers) to the last completion. The floor: the same
     workload as plain SQL statements (claim one, 3 step inserts, complete, each fenced) from
     the same number of processes and threads, without the client, timed from the same point:
     its workflows enqueued, its threads waiting. Runs alternate; medians of RUNS.
  2. Latency from enqueue to the first step starting, with idle workers (sleeping on LISTEN):
     SAMPLES single enqueues, one at a time; p50 and p99.

Targets on a 2-core machine: >= 80% of the floor (>= 1,200 workflows/s), p50 <= 3 ms,
p99 <= 15 ms from enqueue to first step.

Usage: python bench/python_bench.py DSN  (a freshly deployed database; `make bench` makes one)
Env: RUNS (5), WORKFLOWS (5000), WORKERS (2), CONCURRENCY (8), SAMPLES (200)
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RUNS = int(os.environ.get("RUNS", "5"))
WORKFLOWS = int(os.environ.get("WORKFLOWS", "5000"))
WORKERS = int(os.environ.get("WORKERS", "2"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
SAMPLES = int(os.environ.get("SAMPLES", "200"))

PLAIN_CLAIM = """
with picked as materialized (
  select id from durable.workflows
   where queue = 'bench' and status in ('pending', 'waiting') and run_at <= now()
   order by priority desc, run_at limit 1 for update skip locked)
update durable.workflows w
   set status = 'running', owner = %s, lease = nextval('durable.lease_seq'),
       claims = w.claims + 1, claimed_at = now()
  from picked p where w.id = p.id
returning w.id, w.lease"""
PLAIN_STEP = """
insert into durable.steps (workflow_id, step_id, name, output, attempt, lease, created_at)
select %s, %s, 'noop', %s, 1, %s, now() from durable.workflows w
 where w.id = %s and w.lease = %s and w.status = 'running' for share
on conflict do nothing"""
PLAIN_COMPLETE = """
update durable.workflows set status = 'succeeded', output = %s, owner = null, lease = null,
       finished_at = now()
 where id = %s and lease = %s and status = 'running'"""


def reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("truncate durable.workflows, durable.steps, durable.errors, durable.workers cascade")
        conn.execute("vacuum analyze durable.workflows, durable.steps")


def enqueue_batch(conn: psycopg.Connection, name: str, count: int) -> None:
    items = json.dumps([{"name": name, "queue": "bench"}] * count)
    conn.execute("select count(*) from durable.enqueue_batch(%s::jsonb)", (items,))


def wait_done(conn: psycopg.Connection, timeout: float = 300) -> float:
    """When no workflow is left unfinished; polls every 20 ms with a query the partial indexes
    answer (so the watching costs the server next to nothing)."""
    deadline = time.monotonic() + timeout
    while True:
        left = conn.execute("select count(*) from durable.workflows "
                            "where status in ('pending', 'running', 'waiting')").fetchone()[0]
        if left == 0:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} workflows still unfinished")
        time.sleep(0.02)


def start_workers(dsn: str) -> list[subprocess.Popen]:
    env = dict(os.environ, DATABASE_URL=dsn,
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-m", "durable", "worker", "bench.app:app",
                               "--queues", "bench", "--concurrency", str(CONCURRENCY),
                               "--worker-id", f"bench-{i}", "--log-level", "WARNING"],
                              env=env, cwd=REPO) for i in range(WORKERS)]
    with psycopg.connect(dsn, autocommit=True) as conn:  # wait until all are registered
        while conn.execute("select count(*) from durable.workers").fetchone()[0] < WORKERS:
            time.sleep(0.05)
    time.sleep(0.3)  # and idle, asleep on LISTEN
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)


ENQUEUE_MS: list[float] = []


def durable_run(dsn: str) -> float:
    """Workflows/s from the commit of the enqueue (the workers, asleep on LISTEN, wake on its
    NOTIFY) to the last completion: like the floor, which starts with the same workflows
    already enqueued. The enqueue itself (one durable.enqueue_batch) is timed apart."""
    reset(dsn)
    procs = start_workers(dsn)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            t0 = time.monotonic()
            enqueue_batch(conn, "noop3", WORKFLOWS)
            began = time.monotonic()
            ENQUEUE_MS.append((began - t0) * 1000)
            return WORKFLOWS / (wait_done(conn) - began)
    finally:
        stop_workers(procs)


def _plain_thread(dsn: str, worker: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute(PLAIN_CLAIM, (worker,)).fetchone()
            if row is None:
                return
            wid, lease = row
            for i in range(3):
                conn.execute(PLAIN_STEP, (wid, i, json.dumps(i), lease, wid, lease))
            conn.execute(PLAIN_COMPLETE, (json.dumps(3), wid, lease))


def _plain_process(dsn: str, index: int, go: multiprocessing.Event) -> None:
    go.wait()
    threads = [threading.Thread(target=_plain_thread, args=(dsn, f"plain-{index}-{t}"))
               for t in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def plain_run(dsn: str) -> float:
    reset(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        enqueue_batch(conn, "noop3", WORKFLOWS)
    go = multiprocessing.Event()
    procs = [multiprocessing.Process(target=_plain_process, args=(dsn, i, go))
             for i in range(WORKERS)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # processes up and waiting
    began = time.monotonic()
    go.set()
    for p in procs:
        p.join()
    return WORKFLOWS / (time.monotonic() - began)


def latency(dsn: str) -> list[float]:
    """Milliseconds from just before enqueue to the probe's first step starting."""
    reset(dsn)
    procs = start_workers(dsn)
    out = []
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for i in range(SAMPLES):
                t0 = time.time()
                conn.execute("select durable.enqueue('probe', 'null', 'bench', %s)", (f"p{i}",))
                while True:
                    row = conn.execute("select output from durable.steps "
                                       "where workflow_id = %s and step_id = 0",
                                       (f"p{i}",)).fetchone()
                    if row:
                        out.append((row[0] - t0) * 1000)
                        break
                    time.sleep(0.002)
                time.sleep(0.02)  # let the workers go idle again
    finally:
        stop_workers(procs)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ["DURABLE_BENCH_DSN"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select durable.set_queue('bench')")
    print(f"python benchmark: {WORKFLOWS} workflows x 3 no-op steps, {WORKERS} processes x "
          f"{CONCURRENCY} slots, {RUNS} runs each, {os.cpu_count()} cores")
    durable_rates, plain_rates = [], []
    for i in range(RUNS):
        durable_rates.append(durable_run(dsn))
        plain_rates.append(plain_run(dsn))
        print(f"  run {i + 1}: durable workers {durable_rates[-1]:.0f} wf/s, "
              f"plain SQL floor {plain_rates[-1]:.0f} wf/s", flush=True)
    d, p = statistics.median(durable_rates), statistics.median(plain_rates)
    print(f"throughput (median): durable {d:.0f} workflows/s = {3 * d:.0f} steps/s; plain SQL "
          f"floor {p:.0f} workflows/s; ratio {d / p:.2f} (targets: >= 0.80 and >= 1,200/s)")
    print(f"enqueue of {WORKFLOWS} workflows in one durable.enqueue_batch (median): "
          f"{statistics.median(ENQUEUE_MS):.0f} ms")
    lat = latency(dsn)
    print(f"enqueue to first step, idle workers ({len(lat)} samples): p50 {pct(lat, 50):.2f} ms, "
          f"p99 {pct(lat, 99):.2f} ms (targets: p50 <= 3 ms, p99 <= 15 ms)")


if __name__ == "__main__":
    main()
