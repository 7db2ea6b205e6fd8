"""Waiting benchmark (not a test): prints figures, asserts nothing. Each figure is set against a
baseline measured in the same run, on the same database and machine.

  a) CPU of an idle `durable worker` process (user + sys from /proc/PID/stat over WINDOW
     seconds; default options: 4 slots, 1 s poll) with PARKED workflows parked in its queue
     (half in a durable sleep of a day, half waiting for a message that never comes) vs with
     none; also the CPU of the worker's Postgres backends over the same window (its polls,
     heartbeats and LISTEN: what the parked rows could cost the server). Medians of RUNS
     windows, each state on a fresh worker process.
  b) Latency from durable.send (a client, one statement) to the resumed step starting (the
     first step after the recv that was waiting), with idle workers asleep on LISTEN, vs from
     durable.enqueue to the first step starting, measured the same way and interleaved:
     SAMPLES of each per run, RUNS runs; p50 and p99. Target: the same, p50 <= 3 ms.
  c) Fan-out: one parent starting CHILDREN child workflows of one no-op step (all in one
     durable.start_children step) and awaiting them with one wait (durable.wait_all), wall
     time from its enqueue to its finish, vs CHILDREN independent workflows of the same step enqueued in one
     durable.enqueue_batch, from the enqueue to the last finish; WORKERS processes x
     CONCURRENCY slots; alternating, RUNS runs, medians. Target: within 1.5x.

Usage: python bench/wait_bench.py DSN  (a freshly deployed database; `make bench` makes one)
Env: RUNS (3), WINDOW (10 s), PARKED (10000), SAMPLES (100), CHILDREN (1000), WORKERS (2),
     CONCURRENCY (8)
Its workers run this module's app: durable worker bench.wait_bench:app --queues waitbench.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

import durable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
QUEUE = "waitbench"
RUNS = int(os.environ.get("RUNS", "3"))
WINDOW = float(os.environ.get("WINDOW", "10"))
PARKED = int(os.environ.get("PARKED", "10000"))
SAMPLES = int(os.environ.get("SAMPLES", "100"))
CHILDREN = int(os.environ.get("CHILDREN", "1000"))
WORKERS = int(os.environ.get("WORKERS", "2"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "8"))

app = durable.Durable(os.environ.get("DATABASE_URL"))


# -- the workflows its workers run ---------------------------------------------------------------

@app.step()
def started() -> float:
    """The wall-clock time this step started."""
    return time.time()


@app.step()
def noop(i: int) -> int:
    return i


@app.workflow(queue=QUEUE)
def park_sleep() -> None:
    """Parks for a day."""
    durable.sleep(24 * 3600)


@app.workflow(queue=QUEUE)
def park_recv() -> None:
    """Parks until a message that never comes."""
    durable.recv("never")


@app.workflow(queue=QUEUE)
def first_step_probe() -> float:
    """Its first step returns when it started (enqueue to first step)."""
    return started()


@app.workflow(queue=QUEUE)
def resume_probe() -> float:
    """Parks on a message; the step after it returns when it started (send to resumed step)."""
    durable.recv("go")
    return started()


@app.workflow(queue=QUEUE)
def noop1(i: int) -> int:
    return noop(i)


@app.workflow(queue=QUEUE)
def fan_out(n: int) -> int:
    """Starts n noop1 children in one step (enqueue_many inside a workflow:
    durable.start_children) and awaits them all with one wait."""
    children = app.enqueue_many(noop1, [[i] for i in range(n)])
    return sum(r.output for r in durable.wait_all(children))


# -- the harness ---------------------------------------------------------------------------------

def reset(dsn: str) -> None:
    """An empty database (the benchmark's workers stopped), vacuumed."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("truncate durable.workflows, durable.steps, durable.errors, durable.waits, "
                     "durable.messages, durable.events, durable.workers cascade")
        conn.execute("vacuum analyze durable.workflows, durable.steps, durable.waits, "
                     "durable.messages")


def start_workers(dsn: str, count: int, concurrency: int | None, prefix: str
                  ) -> list[subprocess.Popen]:
    """count `durable worker` processes, registered and idle (asleep on LISTEN)."""
    env = dict(os.environ, DATABASE_URL=dsn,
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    options = ["--concurrency", str(concurrency)] if concurrency else []
    procs = [subprocess.Popen([sys.executable, "-m", "durable", "worker", "bench.wait_bench:app",
                               "--queues", QUEUE, *options, "--worker-id", f"{prefix}-{i}",
                               "--log-level", "WARNING"], env=env, cwd=REPO)
             for i in range(count)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        while conn.execute("select count(*) from durable.workers where id like %s",
                           (f"{prefix}-%",)).fetchone()[0] < count:
            time.sleep(0.05)
    time.sleep(0.5)  # and idle
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)


def unfinished(conn: psycopg.Connection, status: str = "('pending', 'running', 'waiting')"
               ) -> int:
    return conn.execute(f"select count(*) from durable.workflows where status in {status}"
                        ).fetchone()[0]


def wait_until_none(conn: psycopg.Connection, status: str, timeout: float = 600) -> float:
    """When no workflow has a status of status (polled every 20 ms); that time."""
    deadline = time.monotonic() + timeout
    while (left := unfinished(conn, status)) and time.monotonic() < deadline:
        time.sleep(0.02)
    if left:
        raise TimeoutError(f"{left} workflows still {status}")
    return time.monotonic()


def enqueue_batch(conn: psycopg.Connection, items: list[dict]) -> None:
    conn.execute("select count(*) from durable.enqueue_batch(%s::jsonb)", (json.dumps(items),))


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


# -- a) idle worker CPU --------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """user + sys CPU seconds of the processes so far (those that are gone count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def idle_cpu(dsn: str, label: str) -> tuple[list[float], list[float]]:
    """A fresh idle worker (default options); RUNS windows of WINDOW seconds: its CPU and its
    backends' CPU, in milliseconds per window."""
    worker = start_workers(dsn, 1, None, f"wbcpu-{label}")
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            backends = [pid for (pid,) in conn.execute(
                "select pid from pg_stat_activity where application_name like %s",
                (f"% wbcpu-{label}-0",)).fetchall()]
        time.sleep(1.0)
        pids = [worker[0].pid]
        own, server = [], []
        for _ in range(RUNS):
            w0, s0 = cpu_seconds(pids), cpu_seconds(backends)
            time.sleep(WINDOW)
            own.append((cpu_seconds(pids) - w0) * 1000)
            server.append((cpu_seconds(backends) - s0) * 1000)
        return own, server
    finally:
        stop_workers(worker)


def park(dsn: str, count: int) -> float:
    """count workflows parked in the queue (half sleeping, half waiting for a message), parked
    by WORKERS workers that are stopped after; the seconds it took."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        began = time.monotonic()
        for start in range(0, count, 1000):
            enqueue_batch(conn, [{"name": "park_sleep" if i % 2 else "park_recv", "queue": QUEUE}
                                 for i in range(start, min(count, start + 1000))])
        procs = start_workers(dsn, WORKERS, CONCURRENCY, "wbpark")
        try:
            done = wait_until_none(conn, "('pending', 'running')")
        finally:
            stop_workers(procs)
        waiting = unfinished(conn, "('waiting')")
        if waiting != count:
            print(f"  (parked {waiting} of {count})")
        conn.execute("vacuum analyze durable.workflows, durable.waits")
    return done - began


def bench_idle_cpu(dsn: str) -> None:
    reset(dsn)
    none_own, none_server = idle_cpu(dsn, "none")
    took = park(dsn, PARKED)
    parked_own, parked_server = idle_cpu(dsn, "parked")
    m = statistics.median
    print(f"a) idle worker, {WINDOW:.0f} s windows, medians of {RUNS} (parking {PARKED} took "
          f"{took:.1f} s; /proc counts CPU in ticks of {1000 / TICK:.0f} ms):")
    print(f"   worker process CPU: {m(parked_own):.0f} ms with {PARKED} parked vs "
          f"{m(none_own):.0f} ms with none: ratio {m(parked_own) / max(m(none_own), 1):.2f} "
          f"({m(parked_own) / WINDOW / 10:.2f}% of a core)  windows {fmt(parked_own)} vs "
          f"{fmt(none_own)}")
    print(f"   its Postgres backends' CPU: {m(parked_server):.0f} ms with {PARKED} parked vs "
          f"{m(none_server):.0f} ms with none  windows {fmt(parked_server)} vs "
          f"{fmt(none_server)}")


def fmt(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.0f}" for v in values) + "]"


# -- b) send to resumed step vs enqueue to first step ---------------------------------------------

def step_started(conn: psycopg.Connection, workflow_id: str, step_id: int) -> float:
    """The output of the probe's step (when it started, time.time()), polled every 2 ms as
    bench/python_bench.py does: WorkflowHandle.result() would call durable.watch, whose update
    of the row can make a claim racing it skip the run (see WATCH below)."""
    while True:
        row = conn.execute("select output from durable.steps where workflow_id = %s "
                           "and step_id = %s", (workflow_id, step_id)).fetchone()
        if row:
            return row[0]
        time.sleep(0.002)


def latencies(dsn: str, run: int) -> tuple[list[float], list[float]]:
    """SAMPLES of each, interleaved: ms from durable.send to the resumed step starting, and from
    durable.enqueue to the first step starting."""
    sent, enqueued = [], []
    with psycopg.connect(dsn, autocommit=True) as conn:
        enqueue_batch(conn, [{"name": "resume_probe", "queue": QUEUE,
                              "workflow_id": f"r{run}-{i}"} for i in range(SAMPLES)])
        procs = start_workers(dsn, WORKERS, CONCURRENCY, f"wblat{run}")
        try:
            wait_until_none(conn, "('pending', 'running')")
            time.sleep(0.3)  # the workers asleep on LISTEN
            for i in range(SAMPLES):
                t0 = time.time()
                conn.execute("select durable.send(%s, 'null', 'go')", (f"r{run}-{i}",))
                # step 0 is the recv, step 1 the resumed step
                sent.append((step_started(conn, f"r{run}-{i}", 1) - t0) * 1000)
                time.sleep(0.02)  # the workers idle again
                t0 = time.time()
                conn.execute("select durable.enqueue('first_step_probe', 'null', %s, %s)",
                             (QUEUE, f"e{run}-{i}"))
                enqueued.append((step_started(conn, f"e{run}-{i}", 0) - t0) * 1000)
                time.sleep(0.02)
        finally:
            stop_workers(procs)
    return sent, enqueued


def with_result(dsn: str) -> list[float]:
    """WATCH: SAMPLES enqueues each followed at once by WorkflowHandle.result() (LISTEN, then
    durable.watch, which updates the run's row): ms from the enqueue to the first step."""
    client = durable.Durable(dsn)
    out = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        procs = start_workers(dsn, WORKERS, CONCURRENCY, "wbwatch")
        try:
            for i in range(SAMPLES):
                t0 = time.time()
                conn.execute("select durable.enqueue('first_step_probe', 'null', %s, %s)",
                             (QUEUE, f"w-{i}"))
                out.append((client.handle(f"w-{i}").result(timeout=30) - t0) * 1000)
                time.sleep(0.02)
        finally:
            stop_workers(procs)
            client.close()
    return out


def bench_latency(dsn: str) -> None:
    reset(dsn)
    sent_all, enq_all, p50s = [], [], []
    for run in range(RUNS):
        sent, enqueued = latencies(dsn, run)
        sent_all += sent
        enq_all += enqueued
        p50s.append((pct(sent, 50), pct(enqueued, 50)))
    print(f"b) idle workers ({WORKERS} x {CONCURRENCY} slots), {RUNS} runs x {SAMPLES} samples "
          f"each, interleaved:")
    print(f"   send -> resumed step:    p50 {pct(sent_all, 50):.2f} ms, p99 "
          f"{pct(sent_all, 99):.2f} ms  (p50 per run "
          + ", ".join(f"{s:.2f}" for s, _ in p50s) + ")")
    print(f"   enqueue -> first step:   p50 {pct(enq_all, 50):.2f} ms, p99 "
          f"{pct(enq_all, 99):.2f} ms  (p50 per run "
          + ", ".join(f"{e:.2f}" for _, e in p50s) + ")")
    print(f"   ratio send/enqueue: p50 {pct(sent_all, 50) / pct(enq_all, 50):.2f}, p99 "
          f"{pct(sent_all, 99) / pct(enq_all, 99):.2f}  (targets: about 1, p50 <= 3 ms)")
    slow = lambda values: sum(1 for v in values if v > 500)
    print(f"   samples over 500 ms (a wake-up missed, found by the workers' 1 s poll): send "
          f"{slow(sent_all)} of {len(sent_all)}, enqueue {slow(enq_all)} of {len(enq_all)}")
    watched = with_result(dsn)
    print(f"   enqueue -> first step with handle.result() called at once (durable.watch): p50 "
          f"{pct(watched, 50):.2f} ms, p99 {pct(watched, 99):.2f} ms, {slow(watched)} of "
          f"{len(watched)} samples over 500 ms")


# -- c) fan-out: one parent, CHILDREN children, one wait vs one batch -----------------------------

STARTS: list[float] = []  # seconds the parent took to start its children (its start_child steps)


def fan_out_run(dsn: str, procs_prefix: str, parent: bool) -> float:
    """Seconds from the enqueue to the last finish."""
    reset(dsn)
    procs = start_workers(dsn, WORKERS, CONCURRENCY, procs_prefix)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            began = time.monotonic()
            if parent:
                conn.execute("select durable.enqueue('fan_out', %s::jsonb, %s)",
                             (json.dumps([CHILDREN]), QUEUE))
            else:
                enqueue_batch(conn, [{"name": "noop1", "queue": QUEUE, "input": [i]}
                                     for i in range(CHILDREN)])
            done = wait_until_none(conn, "('pending', 'running', 'waiting')")
            if parent:
                output, = conn.execute("select output from durable.workflows "
                                       "where name = 'fan_out'").fetchone()
                if output != CHILDREN * (CHILDREN - 1) // 2:
                    print(f"  (fan_out returned {output})")
                STARTS.append(conn.execute(
                    "select extract(epoch from max(s.created_at) - min(s.started_at))::float8"
                    "  from durable.steps s join durable.workflows w on w.id = s.workflow_id"
                    " where w.name = 'fan_out'"
                    "   and s.name in ('durable.start_child', 'durable.start_children')"
                    ).fetchone()[0])
            return done - began
    finally:
        stop_workers(procs)


def bench_fan_out(dsn: str) -> None:
    parents, batches = [], []
    for run in range(RUNS):
        parents.append(fan_out_run(dsn, f"wbfan{run}", True))
        batches.append(fan_out_run(dsn, f"wbbatch{run}", False))
    p, b = statistics.median(parents), statistics.median(batches)
    print(f"c) {CHILDREN} workflows of one step, {WORKERS} x {CONCURRENCY} slots, medians of "
          f"{RUNS}:")
    print(f"   one parent starting {CHILDREN} children, one wait: {p:.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in parents)})")
    print(f"   {CHILDREN} independent, one enqueue_batch:        {b:.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in batches)})")
    print(f"   ratio {p / b:.2f} (target: <= 1.5); the parent's {CHILDREN} start_child steps "
          f"(one round trip each) took {statistics.median(STARTS):.2f} s of its time (median)")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ["DURABLE_BENCH_DSN"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select durable.set_queue(%s)", (QUEUE,))
    print(f"waiting benchmark: {os.cpu_count()} cores, RUNS {RUNS}", flush=True)
    bench_latency(dsn)
    bench_fan_out(dsn)
    bench_idle_cpu(dsn)
    reset(dsn)


if __name__ == "__main__":
    main()
