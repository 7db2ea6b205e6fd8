"""Retention benchmark (not a test): prints figures, asserts nothing.

Claim latency while durable.purge_batch deletes FINISHED finished workflows (3 steps each) in
batches of BATCH, one transaction per batch, vs claim latency with the same rows in place and no
purge, measured in the same run on the same database: one session claims and completes one
workflow at a time from a queue of pending ones (durable.claim, then durable.complete), timing
each claim; another purges (durable.purge_batch('1 day', BATCH) until more = false). Each run
loads the finished rows (timed apart), measures WINDOW seconds without the purge, then the whole
purge; p50 and p99 of each; medians of RUNS runs. Target (issue 11): the purge does not block
claims (p99 of the same order with and without).

Usage: python bench/purge_bench.py DSN  (a freshly deployed database; `make bench` makes one)
Env: RUNS (3), FINISHED (1000000), BATCH (1000), WINDOW (10 s)
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time

import psycopg

RUNS = int(os.environ.get("RUNS", "3"))
FINISHED = int(os.environ.get("FINISHED", "1000000"))
BATCH = int(os.environ.get("BATCH", "1000"))
WINDOW = float(os.environ.get("WINDOW", "10"))
QUEUE = "purgebench"


def reset(conn: psycopg.Connection) -> None:
    conn.execute("truncate durable.workflows, durable.steps, durable.errors, durable.waits, "
                 "durable.messages, durable.events, durable.workers cascade")
    conn.execute("select durable.set_queue(%s)", [QUEUE])


def load(conn: psycopg.Connection) -> float:
    """FINISHED succeeded workflows of 2 days ago with 3 steps each; seconds taken."""
    start = time.perf_counter()
    conn.execute(
        "insert into durable.workflows (id, name, queue, status, run_at, input, output,"
        " created_at, claimed_at, finished_at, claims)"
        " select 'done-' || g, 'bench', %s, 'succeeded', now() - interval '2 days', '{}', '{}',"
        " now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', 1"
        " from generate_series(1, %s) g", [QUEUE, FINISHED])
    conn.execute(
        "insert into durable.steps (workflow_id, step_id, name, output, attempt, lease,"
        " created_at) select 'done-' || g, s, 'step' || s, '{}', 1, 0,"
        " now() - interval '2 days' from generate_series(1, %s) g, generate_series(0, 2) s",
        [FINISHED])
    conn.execute("vacuum analyze durable.workflows, durable.steps")
    return time.perf_counter() - start


def enqueue(conn: psycopg.Connection, n: int) -> None:
    conn.execute("select count(*) from durable.enqueue_batch(("
                 " select jsonb_agg(jsonb_build_object('name', 'probe', 'queue', %s::text))"
                 " from generate_series(1, %s::integer)))", [QUEUE, n])


def claims(dsn: str, until: threading.Event | float) -> list[float]:
    """Claim and complete one workflow at a time until the event is set (or the time passes);
    the claims' latencies in ms."""
    out: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.cursor()
        for _ in range(3):  # warm the session's plans
            cur.execute("select workflow_id, lease from durable.claim('bench-claimer',"
                        " array[%s], 1)", [QUEUE])
            for wid, lease in cur.fetchall():
                cur.execute("select durable.complete(%s, %s)", [wid, lease])
        while True:
            if isinstance(until, threading.Event):
                if until.is_set():
                    break
            elif time.monotonic() >= until:
                break
            t = time.perf_counter()
            cur.execute("select workflow_id, lease from durable.claim('bench-claimer',"
                        " array[%s], 1)", [QUEUE])
            rows = cur.fetchall()
            out.append((time.perf_counter() - t) * 1000)
            for wid, lease in rows:
                cur.execute("select durable.complete(%s, %s)", [wid, lease])
    return out


def purge(dsn: str, done: threading.Event, result: dict) -> None:
    batches, rows, start = 0, 0, time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            purged, more = conn.execute(
                "select * from durable.purge_batch('1 day', %s)", [BATCH]).fetchone()
            batches, rows = batches + 1, rows + purged
            if not more:
                break
    result.update(batches=batches, rows=rows, seconds=time.perf_counter() - start)
    done.set()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main(dsn: str) -> None:
    print(f"purge_bench: {FINISHED:,} finished workflows (3 steps each), purge_batch of {BATCH},"
          f" {RUNS} runs")
    figures: dict[str, list[float]] = {k: [] for k in
                                       ("p50_without", "p99_without", "p50_with", "p99_with",
                                        "rate")}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for run in range(1, RUNS + 1):
            reset(conn)
            loaded = load(conn)
            # enough pending work for both phases (a claim and a completion take ~1-2 ms)
            enqueue(conn, 200_000)
            conn.execute("vacuum analyze durable.workflows")
            without = claims(dsn, time.monotonic() + WINDOW)
            done, result = threading.Event(), {}
            purger = threading.Thread(target=purge, args=(dsn, done, result))
            purger.start()
            with_purge = claims(dsn, done)
            purger.join()
            left = conn.execute("select count(*) from durable.workflows"
                                " where status = 'succeeded' and name = 'bench'").fetchone()[0]
            rate = result["rows"] / result["seconds"]
            figures["p50_without"].append(pct(without, 0.5))
            figures["p99_without"].append(pct(without, 0.99))
            figures["p50_with"].append(pct(with_purge, 0.5))
            figures["p99_with"].append(pct(with_purge, 0.99))
            figures["rate"].append(rate)
            print(f"  run {run}: loaded in {loaded:.0f} s; claims without purge: {len(without)},"
                  f" p50 {pct(without, 0.5):.3f} ms, p99 {pct(without, 0.99):.3f} ms;"
                  f" purge: {result['rows']:,} rows in {result['batches']} batches,"
                  f" {result['seconds']:.1f} s ({rate:,.0f} rows/s), {left} left;"
                  f" claims meanwhile: {len(with_purge)}, p50 {pct(with_purge, 0.5):.3f} ms,"
                  f" p99 {pct(with_purge, 0.99):.3f} ms, max {max(with_purge):.1f} ms")
        reset(conn)
    m = {k: statistics.median(v) for k, v in figures.items()}
    print(f"claim latency without purge: p50 {m['p50_without']:.3f} ms, p99"
          f" {m['p99_without']:.3f} ms; while purging {FINISHED:,} rows: p50 {m['p50_with']:.3f}"
          f" ms, p99 {m['p99_with']:.3f} ms ({m['p99_with'] / m['p99_without']:.2f}x);"
          f" purge {m['rate']:,.0f} rows/s (medians of {RUNS} runs)")


if __name__ == "__main__":
    main(sys.argv[1])
