"""Dashboard benchmark (not a test): prints figures, asserts nothing.

Fills the tables with SMALL runs (the baseline), times every page of `durable ui`, then refills
them with LARGE runs and times the same pages again: each figure is the median of REPEAT
timings, and the ratio large / small says whether a page's cost grows with the number of runs.
For each page two times: the page's own queries (durable.ui.queries, the functions the routes
call, on a connection set up as the dashboard's) and the whole page through Flask's test client
(queries and rendering, no HTTP).

The runs span the last 30 days, newest every 30 days / N: 8 queues, 20 workflow names; about 3 %
failed (with an error and a failed step try each), 1 % cancelled, one in 5,000 waiting, 500
pending and 40 running (held by 8 live workers) among the newest, one in 100 a child of the run
before it, 2 recorded steps per started run. The rows are inserted with generate_series
(respecting the CHECK constraints), then vacuumed and analysed, as autovacuum would.

Usage: python bench/ui_bench.py DSN  (a freshly deployed database, as superuser: it truncates
durable's tables; `make bench` makes one). Env: SMALL (10000), LARGE (1000000), REPEAT (7).
The machine has 2 cores shared with other work: compare the ratios, not the absolute times.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import psycopg

from durable import db
from durable.ui import create_app, queries

SMALL = int(os.environ.get("SMALL", "10000"))
LARGE = int(os.environ.get("LARGE", "1000000"))
REPEAT = int(os.environ.get("REPEAT", "7"))
SPAN = timedelta(days=30)

FILL = """
insert into durable.workflows (id, name, queue, status, run_at, attempt, max_attempts, owner,
  lease, claims, input, output, error, created_at, claimed_at, started_at, finished_at,
  parent_id)
select 'run-' || lpad(g::text, 7, '0'), 'workflow_' || (g %% 20), 'q' || (g %% 8), st,
       case when st = 'waiting' then now() + interval '1 day' else created end,
       1, 3,
       case when st = 'running' then 'bench-worker-' || (g %% 8) end,
       case when st = 'running' then g end,
       case when st = 'pending' then 0 else 1 end,
       jsonb_build_object('order', g),
       case when st = 'succeeded' then jsonb_build_object('ok', true, 'order', g) end,
       case when st = 'failed' then jsonb_build_object('type', 'ValueError',
         'message', 'card declined for order ' || g,
         'traceback', 'Traceback (most recent call last):\n  ValueError: card declined') end,
       created,
       case when st <> 'pending' then created + interval '1 second' end,
       case when st <> 'pending' then created + interval '1 second' end,
       case when st in ('succeeded', 'failed', 'cancelled')
            then created + (1 + g %% 60) * interval '1 second' end,
       case when g %% 100 = 1 and g > 1 then 'run-' || lpad((g - 1)::text, 7, '0') end
  from (select g, now() - (%(n)s - g) * (%(span)s::interval / %(n)s) - interval '2 minutes'
                 as created,
               case when g > %(n)s - 40 then 'running'
                    when g > %(n)s - 540 then 'pending'
                    when g %% 5000 = 0 then 'waiting'
                    when g %% 33 = 0 then 'failed'
                    when g %% 97 = 0 then 'cancelled'
                    else 'succeeded' end as st
          from generate_series(1, %(n)s) g) s
"""

STEPS = """
insert into durable.steps (workflow_id, step_id, name, output, attempt, lease, started_at,
  created_at)
select w.id, s, case s when 0 then 'reserve' else 'charge' end, jsonb_build_object('step', s),
       1, 0, w.started_at, w.started_at + s * interval '10 ms'
  from durable.workflows w, generate_series(0, 1) s
 where w.started_at is not null
"""

ERRORS = """
insert into durable.errors (workflow_id, step_id, name, attempt, error, created_at)
select id, k, case when k is null then null else 'charge' end, 1,
       jsonb_build_object('type', 'ValueError', 'message', 'card declined'), finished_at
  from durable.workflows, (values (null::integer), (1)) v(k)
 where status = 'failed'
"""

WORKERS = """
insert into durable.workers (id, started_at, heartbeat_at, lease_timeout, expires_at)
select 'bench-worker-' || k, now() - interval '1 hour', now(), interval '30 seconds',
       now() + interval '1 hour'
  from generate_series(0, 7) k
"""


def fill(conn: psycopg.Connection, n: int) -> float:
    """Truncate durable's run tables and insert n runs as the module docstring says."""
    started = time.perf_counter()
    conn.execute("truncate durable.workflows, durable.steps, durable.errors, durable.waits,"
                 " durable.messages, durable.events, durable.workers cascade")
    for q in range(8):
        conn.execute("select durable.set_queue(%s)", [f"q{q}"])
    conn.execute(WORKERS)
    conn.execute(FILL, {"n": n, "span": SPAN})
    conn.execute(STEPS)
    conn.execute(ERRORS)
    conn.execute("vacuum analyze durable.workflows, durable.steps, durable.errors,"
                 " durable.workers")
    return time.perf_counter() - started


def cases(n: int) -> list[tuple[str, str, Callable[[psycopg.Connection], Any]]]:
    """(page, URL, its queries) for each page measured, for a table of n runs."""
    newest = f"run-{n - 600:07d}"            # a succeeded run with 2 steps
    failed = f"run-{(n - 600) // 33 * 33:07d}"
    parent = f"run-{(n - 600) // 100 * 100:07d}"
    page2 = (datetime.now(timezone.utc) - SPAN / 2, f"run-{n // 2:07d}")
    hour = datetime.now(timezone.utc) - timedelta(hours=1)
    f = queries.RunFilter

    def one_run(wid: str) -> Callable[[psycopg.Connection], Any]:
        return lambda c: (queries.run(c, wid, payloads=True),
                          queries.timeline(c, wid, payloads=True), queries.children(c, wid))

    return [
        ("runs", "/runs", lambda c: queries.runs(c, f())),
        ("runs, a page in the middle",
         "/runs?" + urlencode({"before_at": page2[0].isoformat(), "before_id": page2[1]}),
         lambda c: queries.runs(c, f(), before=page2)),
        ("runs status=failed", "/runs?status=failed",
         lambda c: queries.runs(c, f(status="failed"))),
        ("runs status=running", "/runs?status=running",
         lambda c: queries.runs(c, f(status="running"))),
        ("runs status=waiting", "/runs?status=waiting",
         lambda c: queries.runs(c, f(status="waiting"))),
        ("runs queue=q3", "/runs?queue=q3", lambda c: queries.runs(c, f(queue="q3"))),
        ("runs name=workflow_7", "/runs?name=workflow_7",
         lambda c: queries.runs(c, f(name="workflow_7"))),
        ("runs created in the last hour", "/runs?since=1h",
         lambda c: queries.runs(c, f(since=hour))),
        ("runs id search (exact)", f"/runs?q={newest}",
         lambda c: queries.run_exists(c, newest)),
        ("runs id search (prefix)", f"/runs?q={newest[:-2]}",
         lambda c: (queries.run_exists(c, newest[:-2]),
                    queries.runs(c, f(id_prefix=newest[:-2]),
                                 bytewise=queries.bytewise_ids(c)))),
        ("run (succeeded)", f"/run?id={newest}", one_run(newest)),
        ("run (failed)", f"/run?id={failed}", one_run(failed)),
        ("run (a parent)", f"/run?id={parent}", one_run(parent)),
        ("queues", "/queues", lambda c: (queries.queues(c), queries.throughput(c))),
        ("workers", "/workers", lambda c: queries.held(c, [r["id"] for r in queries.workers(c)])),
        ("errors", "/errors", lambda c: (queries.errors_per_day(c),
                                         queries.failed_runs(c, payloads=True),
                                         queries.failed_steps(c, payloads=True))),
    ]


def median_ms(fn: Callable[[], Any]) -> float:
    fn()  # warm: plans, caches
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(dsn: str, n: int) -> dict[str, tuple[float, float]]:
    """{page: (query ms, page ms)} for a table of n runs."""
    app = create_app(dsn)
    client = app.test_client()
    out = {}
    with db.connect(dsn) as conn:
        conn.execute("set default_transaction_read_only = on")
        for name, url, query in cases(n):
            q_ms = median_ms(lambda query=query: query(conn))

            def get(url: str = url) -> None:
                response = client.get(url)
                assert response.status_code in (200, 302), (url, response.status_code)
            out[name] = (q_ms, median_ms(get))
    app.extensions["durable_pool"].close()
    return out


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DURABLE_BENCH_DSN", "")
    results = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for n in (SMALL, LARGE):
            took = fill(conn, n)
            steps = conn.execute("select count(*) from durable.steps").fetchone()[0]
            errors = conn.execute("select count(*) from durable.errors").fetchone()[0]
            print(f"filled {n:,} runs ({steps:,} steps, {errors:,} errors) in {took:.1f} s",
                  flush=True)
            results[n] = measure(dsn, n)
    print(f"\nui_bench: median of {REPEAT}, ms; 2 shared cores, busy machine")
    print(f"| page | queries, {SMALL:,} runs | queries, {LARGE:,} runs | ratio "
          f"| whole page, {LARGE:,} runs |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (q_large, p_large) in results[LARGE].items():
        q_small = results[SMALL][name][0]
        print(f"| {name} | {q_small:.1f} | {q_large:.1f} | {q_large / q_small:.1f}x "
              f"| {p_large:.1f} |")


if __name__ == "__main__":
    main()
