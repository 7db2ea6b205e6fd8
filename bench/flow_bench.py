"""Flow-control benchmark (issue 11; not a test): prints figures, asserts nothing. Each figure
is set against a baseline measured in the same run, interleaved, on the same database.

  a) Claim throughput: CLIENTS threads, each on its own connection, claim one workflow and
     complete it (two statements, autocommit) until the queue is empty; WORKFLOWS fresh
     workflows (with KEYS distinct concurrency keys) per run in a fresh queue. Configurations:
     none (the baseline), a non-binding rate limit (1,000,000 per second), a non-binding
     per-key limit (1,000 per key), both, and for reference a non-binding concurrency limit
     (the lock every limited queue's claim takes). RUNS runs each, interleaved; medians of
     claims per second and the ratio to the baseline. Target (issue 11): >= 90% when limits
     are not binding.
  b) Hot key and cold key: a queue with key_concurrency 1 and HOT pending workflows of one key
     (higher priority) ahead of one workflow of another key. How many claims of 1 until the
     cold one is taken, from a start where the hot key runs nothing; and the latency of a claim
     (median of SAMPLES, each rolled back): (1) the hot key at its limit, a claim of 1 takes the
     cold one; (2) the hot key free, a claim of 10 takes one hot and walks the other hot rows
     to the cold one; vs the same pending rows in a queue without the per-key limit (a claim
     of 1).

  c) End to end: WORKFLOWS_E2E workflows of 3 no-op steps (with KEYS keys) run by the Python
     worker (python_bench.py's processes and threads: WORKERS x CONCURRENCY) on queue "bench"
     set to each configuration of a), interleaved; workflows/s, medians of RUNS.

Usage: python bench/flow_bench.py DSN  (a freshly deployed database; `make bench` makes one)
Env: RUNS (3), CLIENTS (8), WORKFLOWS (3000), KEYS (100), HOT (10000), SAMPLES (20),
     WORKFLOWS_E2E (3000), PARTS (abc: which parts to run)
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import uuid

import psycopg

RUNS = int(os.environ.get("RUNS", "3"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
WORKFLOWS = int(os.environ.get("WORKFLOWS", "3000"))
KEYS = int(os.environ.get("KEYS", "100"))
HOT = int(os.environ.get("HOT", "10000"))
SAMPLES = int(os.environ.get("SAMPLES", "20"))
WORKFLOWS_E2E = int(os.environ.get("WORKFLOWS_E2E", "3000"))
PARTS = os.environ.get("PARTS", "abc")

CONFIGS = {
    "none": {},
    "rate limit": {"p_rate_limit": 1_000_000, "p_rate_period": "1 second"},
    "key limit": {"p_key_concurrency": 1000},
    "rate + key": {"p_rate_limit": 1_000_000, "p_rate_period": "1 second",
                   "p_key_concurrency": 1000},
    "concurrency": {"p_concurrency": 1_000_000},
}


def _queue(conn: psycopg.Connection, settings: dict) -> str:
    name = f"flowbench-{uuid.uuid4().hex[:8]}"
    args = "".join(f", {k} => %({k})s" for k in settings)
    conn.execute(f"select durable.set_queue(%(name)s{args})", {"name": name, **settings})
    return name


def _drop(conn: psycopg.Connection, queue: str) -> None:
    conn.execute("delete from durable.workflows where queue = %s", [queue])
    conn.execute("delete from durable.queues where name = %s", [queue])


def throughput(dsn: str, conn: psycopg.Connection, settings: dict) -> float:
    """Claims per second of CLIENTS threads emptying a queue of WORKFLOWS workflows."""
    queue = _queue(conn, settings)
    items = [{"name": "flow", "queue": queue, "concurrency_key": f"k{i % KEYS}"}
             for i in range(WORKFLOWS)]
    conn.execute("select count(*) from durable.enqueue_batch(%s::jsonb)",
                 [psycopg.types.json.Jsonb(items)])
    conn.execute("vacuum analyze durable.workflows")
    start = threading.Barrier(CLIENTS + 1)
    done = [0] * CLIENTS

    def client(i: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as c:
            worker = f"flowbench-{uuid.uuid4().hex[:6]}"
            claim = "select workflow_id, lease from durable.claim(%s, %s, 1, '1 minute')"
            try:
                c.execute("select * from durable.heartbeat(%s)", [worker])  # registered untimed
            finally:
                start.wait()
            while True:
                row = c.execute(claim, [worker, [queue]]).fetchone()
                if row is None:
                    break
                c.execute("select durable.complete(%s, %s, 'null')", row)
                done[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    _drop(conn, queue)
    return sum(done) / elapsed


def _ms(conn: psycopg.Connection, sql: str, params: list) -> tuple[float, list]:
    """One claim in a transaction rolled back: (milliseconds, the ids it took)."""
    with conn.transaction(force_rollback=True):
        began = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        return (time.perf_counter() - began) * 1000, [r[0] for r in rows]


def hot_and_cold(conn: psycopg.Connection) -> None:
    """Part b."""
    keyed = _queue(conn, {"p_key_concurrency": 1})
    plain = _queue(conn, {})
    for queue in (keyed, plain):
        conn.execute(
            "select count(*) from durable.enqueue_batch(%s::jsonb)",
            [psycopg.types.json.Jsonb(
                [{"name": "flow", "queue": queue, "priority": 1, "concurrency_key": "hot"}] * HOT
                + [{"name": "flow", "queue": queue, "workflow_id": f"{queue}-cold",
                    "concurrency_key": "cold"}])])
    conn.execute("vacuum analyze durable.workflows")
    claim = "select workflow_id from durable.claim(%s, %s, %s, '1 hour')"

    # how many claims of 1 until the cold one is taken (rolled back after)
    with conn.transaction(force_rollback=True):
        n = 0
        while True:
            n += 1
            got = [r[0] for r in conn.execute(claim, ["flowbench-hc", [keyed], 1]).fetchall()]
            if f"{keyed}-cold" in got or not got or n > 10:
                break
    print(f"  claims of 1 until the cold workflow is taken behind {HOT:,} hot ones: {n}"
          " (target: the next claim after the hot key is at its limit, i.e. 2)")

    free_hot, baseline = [], []
    for _ in range(SAMPLES):  # interleaved
        free_hot.append(_ms(conn, claim, ["flowbench-hc", [keyed], 10])[0])
        baseline.append(_ms(conn, claim, ["flowbench-hc", [plain], 1])[0])
    conn.execute(claim, ["flowbench-hc", [keyed], 1])  # one hot run: the hot key is at its limit
    full_hot = []
    for _ in range(SAMPLES):
        ms, got = _ms(conn, claim, ["flowbench-hc", [keyed], 1])
        full_hot.append(ms)
    print(f"  claim latency, median of {SAMPLES}: hot key at its limit, claim of 1 -> "
          f"{got}: {statistics.median(full_hot):.2f} ms; hot key free, claim of 10 (walks "
          f"the hot rows): {statistics.median(free_hot):.2f} ms; no per-key limit, claim of 1: "
          f"{statistics.median(baseline):.2f} ms")
    _drop(conn, keyed)
    _drop(conn, plain)


def end_to_end(dsn: str, conn: psycopg.Connection, settings: dict) -> float:
    """Part c: workflows/s of the Python workers on queue bench set to settings."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import python_bench as pb

    pb.reset(dsn)
    defaults = {"p_concurrency": None, "p_rate_limit": None, "p_rate_period": None,
                "p_key_concurrency": None}
    conn.execute("update durable.queues set concurrency = null, rate_limit = null, "
                 "rate_period = null, key_concurrency = null where name = 'bench'")
    args = {**defaults, **settings}
    given = {k: v for k, v in args.items() if v is not None}
    if given:
        conn.execute("select durable.set_queue('bench', "
                     + ", ".join(f"{k} => %({k})s" for k in given) + ")", given)
    procs = pb.start_workers(dsn)
    try:
        items = [{"name": "noop3", "queue": "bench", "concurrency_key": f"k{i % KEYS}"}
                 for i in range(WORKFLOWS_E2E)]
        conn.execute("select count(*) from durable.enqueue_batch(%s::jsonb)",
                     [psycopg.types.json.Jsonb(items)])
        began = time.monotonic()
        return WORKFLOWS_E2E / (pb.wait_done(conn) - began)
    finally:
        pb.stop_workers(procs)


def main(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        if "c" in PARTS:
            conn.execute("select durable.set_queue('bench')")
            print(f"flow_bench: end to end, Python workers, {WORKFLOWS_E2E} workflows x 3 "
                  f"no-op steps, {RUNS} runs interleaved (workflows/s, medians)")
            e2e: dict[str, list[float]] = {name: [] for name in CONFIGS}
            for _ in range(RUNS):
                for name, settings in CONFIGS.items():
                    e2e[name].append(end_to_end(dsn, conn, settings))
            base = statistics.median(e2e["none"])
            for name, values in e2e.items():
                med = statistics.median(values)
                print(f"  {name:<12} {med:8.0f}/s  ({med / base:5.1%} of none)  runs: "
                      + ", ".join(f"{v:.0f}" for v in values))
        if "a" not in PARTS:
            if "b" in PARTS:
                hot_and_cold(conn)
            return
        print(f"flow_bench: claim throughput, {CLIENTS} clients, {WORKFLOWS} workflows, "
              f"{KEYS} keys, {RUNS} runs interleaved (claims/s, medians)")
        figures: dict[str, list[float]] = {name: [] for name in CONFIGS}
        throughput(dsn, conn, {})  # warm-up
        for _ in range(RUNS):
            for name, settings in CONFIGS.items():
                figures[name].append(throughput(dsn, conn, settings))
        base = statistics.median(figures["none"])
        for name, values in figures.items():
            med = statistics.median(values)
            print(f"  {name:<12} {med:8.0f}/s  ({med / base:5.1%} of none)  runs: "
                  + ", ".join(f"{v:.0f}" for v in values))
        print("  target: rate and key limits configured but not binding >= 90% of none")
        if "b" in PARTS:
            print(f"flow_bench: hot key ({HOT:,} pending) vs cold key (1), key_concurrency 1")
            hot_and_cold(conn)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
