"""asyncio benchmark (not a test): prints figures, asserts nothing.

  1. Throughput on the 3-step no-op workload (python_bench.py's): WORKFLOWS workflows enqueued
     in one batch, run by WORKERS `durable worker` processes; workflows/s from the commit of
     the enqueue to the last completion. The thread worker (bench.app's noop3, CONCURRENCY slot
     threads per process) against the async worker (this module's anoop3, async def workflow
     and steps, ASYNC_CONCURRENCY runs on one event loop per process, ASYNC_CONNECTIONS shared
     connections). Runs alternate; medians of RUNS and their ratio (target: async >= thread).
  2. I/O-bound: IO_WORKFLOWS workflows of 3 steps that each await asyncio.sleep(IO_SLEEP), on
     ONE async worker process (async_concurrency = IO_WORKFLOWS); workflows/s, the latency of
     each workflow from the enqueue to its completion (p50, p99; its floor is 3 x IO_SLEEP),
     and the server connections the worker used (pg_stat_activity, sampled every 50 ms).
     RUNS runs, medians.

Usage: python bench/async_bench.py DSN  (a freshly deployed database; `make bench` makes one)
Env: RUNS (5), WORKFLOWS (5000), WORKERS (2), CONCURRENCY (8), ASYNC_CONCURRENCY (64),
     ASYNC_CONNECTIONS (8), IO_WORKFLOWS (1000), IO_SLEEP (0.5), PARTS (throughput,io)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

from durable import Durable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RUNS = int(os.environ.get("RUNS", "5"))
WORKFLOWS = int(os.environ.get("WORKFLOWS", "5000"))
WORKERS = int(os.environ.get("WORKERS", "2"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))
ASYNC_CONCURRENCY = int(os.environ.get("ASYNC_CONCURRENCY", "64"))
ASYNC_CONNECTIONS = int(os.environ.get("ASYNC_CONNECTIONS", "8"))
IO_WORKFLOWS = int(os.environ.get("IO_WORKFLOWS", "1000"))
IO_SLEEP = float(os.environ.get("IO_SLEEP", "0.5"))
PARTS = os.environ.get("PARTS", "throughput,io").split(",")

app = Durable(os.environ.get("DATABASE_URL"))


@app.step()
async def anoop(i: int) -> int:
    return i


@app.workflow(queue="bench")
async def anoop3() -> int:
    return await anoop(0) + await anoop(1) + await anoop(2)


@app.step()
async def io(i: int) -> int:
    await asyncio.sleep(IO_SLEEP)
    return i


@app.workflow(queue="bench")
async def io3() -> int:
    return await io(0) + await io(1) + await io(2)


def reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("truncate durable.workflows, durable.steps, durable.errors, durable.workers"
                     " cascade")
        conn.execute("vacuum analyze durable.workflows, durable.steps")


def enqueue(conn: psycopg.Connection, name: str, count: int) -> None:
    conn.execute("select count(*) from durable.enqueue_batch("
                 "(select jsonb_agg(jsonb_build_object('name', %s::text, 'queue', 'bench'))"
                 " from generate_series(1, %s)))", (name, count))


def wait_done(conn: psycopg.Connection, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while True:
        left = conn.execute("select count(*) from durable.workflows "
                            "where status in ('pending', 'running', 'waiting')").fetchone()[0]
        if left == 0:
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} workflows still unfinished")
        time.sleep(0.02)


def start_workers(dsn: str, spec: str, count: int, *options: str) -> list[subprocess.Popen]:
    env = dict(os.environ, DATABASE_URL=dsn,
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-m", "durable", "worker", spec,
                               "--queues", "bench", "--worker-id", f"bench-{i}",
                               "--log-level", "WARNING", *options], env=env, cwd=REPO)
             for i in range(count)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        while conn.execute("select count(*) from durable.workers").fetchone()[0] < count:
            time.sleep(0.05)
    time.sleep(0.3)  # idle, asleep on LISTEN
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)


def cpu_seconds(procs: list[subprocess.Popen]) -> float:
    """User + system CPU seconds of the processes so far (Linux /proc)."""
    total = 0.0
    for p in procs:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


CPU_MS: dict[str, list[float]] = {"thread": [], "async": []}


def throughput(dsn: str, kind: str) -> float:
    """Workflows/s; the workers' CPU milliseconds per workflow go to CPU_MS (a figure the
    other agents' load on the machine changes less than wall time)."""
    reset(dsn)
    if kind == "thread":
        procs = start_workers(dsn, "bench.app:app", WORKERS, "--concurrency", str(CONCURRENCY))
        name = "noop3"
    else:
        procs = start_workers(dsn, "bench.async_bench:app", WORKERS, "--concurrency", "1",
                              "--async-concurrency", str(ASYNC_CONCURRENCY),
                              "--async-connections", str(ASYNC_CONNECTIONS))
        name = "anoop3"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            cpu = cpu_seconds(procs)
            enqueue(conn, name, WORKFLOWS)
            began = time.monotonic()
            rate = WORKFLOWS / (wait_done(conn) - began)
            CPU_MS[kind].append((cpu_seconds(procs) - cpu) * 1000 / WORKFLOWS)
            return rate
    finally:
        stop_workers(procs)


def io_bound(dsn: str) -> tuple[float, float, float, int]:
    """(workflows/s, p50 ms, p99 ms, most server connections of the worker seen at once)."""
    reset(dsn)
    procs = start_workers(dsn, "bench.async_bench:app", 1, "--concurrency", "1",
                          "--async-concurrency", str(IO_WORKFLOWS),
                          "--async-connections", str(ASYNC_CONNECTIONS))
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        with psycopg.connect(dsn, autocommit=True) as c:
            while not stop.wait(0.05):
                n = c.execute("select count(*) from pg_stat_activity where application_name"
                              " like 'durable %% bench-0' and datname = current_database()"
                              ).fetchone()[0]
                peak = max(peak, n)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            enqueue(conn, "io3", IO_WORKFLOWS)
            began = time.monotonic()
            rate = IO_WORKFLOWS / (wait_done(conn) - began)
            lat = [r[0] * 1000 for r in conn.execute(
                "select extract(epoch from finished_at - created_at)::float8"
                " from durable.workflows where name = 'io3'")]
    finally:
        stop.set()
        sampler.join()
        stop_workers(procs)
    return rate, pct(lat, 50), pct(lat, 99), peak


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ["DURABLE_BENCH_DSN"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select durable.set_queue('bench')")
    if "throughput" in PARTS:
        compare(dsn)
    if "io" in PARTS:
        io_part(dsn)


def compare(dsn: str) -> None:
    print(f"async benchmark: {WORKFLOWS} workflows x 3 no-op steps, {WORKERS} processes each: "
          f"thread worker {CONCURRENCY} slots vs async worker {ASYNC_CONCURRENCY} runs on "
          f"{ASYNC_CONNECTIONS} connections; {RUNS} runs each, {os.cpu_count()} cores (shared)")
    rates: dict[str, list[float]] = {"thread": [], "async": []}
    for i in range(RUNS):
        for kind in (("thread", "async") if i % 2 == 0 else ("async", "thread")):
            rates[kind].append(throughput(dsn, kind))
        print(f"  run {i + 1}: thread {rates['thread'][-1]:.0f} wf/s "
              f"({CPU_MS['thread'][-1]:.2f} ms CPU/workflow), async {rates['async'][-1]:.0f} "
              f"wf/s ({CPU_MS['async'][-1]:.2f} ms CPU/workflow)", flush=True)
    t, a = statistics.median(rates["thread"]), statistics.median(rates["async"])
    ct, ca = statistics.median(CPU_MS["thread"]), statistics.median(CPU_MS["async"])
    print(f"throughput (median): thread worker {t:.0f} workflows/s, async worker {a:.0f} "
          f"workflows/s; ratio async/thread {a / t:.2f} (target: >= 1.00)")
    print(f"worker CPU per workflow (median): thread {ct:.2f} ms, async {ca:.2f} ms; "
          f"ratio async/thread {ca / ct:.2f}")


def io_part(dsn: str) -> None:
    print(f"I/O-bound: {IO_WORKFLOWS} workflows x 3 steps awaiting asyncio.sleep({IO_SLEEP}), "
          f"one async worker process, {ASYNC_CONNECTIONS} shared connections")
    results = []
    for i in range(RUNS):
        results.append(io_bound(dsn))
        rate, p50, p99, peak = results[-1]
        print(f"  run {i + 1}: {rate:.0f} wf/s, latency p50 {p50:.0f} ms p99 {p99:.0f} ms, "
              f"{peak} server connections", flush=True)
    print(f"I/O-bound (median): {statistics.median(r[0] for r in results):.0f} workflows/s, "
          f"enqueue to completion p50 {statistics.median(r[1] for r in results):.0f} ms, "
          f"p99 {statistics.median(r[2] for r in results):.0f} ms (floor {3 * IO_SLEEP * 1000:.0f}"
          f" ms), server connections of the worker at most {max(r[3] for r in results)} "
          "(async ones, plus main, listener, heartbeat)")


if __name__ == "__main__":
    main()
