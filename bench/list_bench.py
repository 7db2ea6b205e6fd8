"""Listing benchmark (not a test): what the input index costs enqueues, and what it buys lists.

1. Enqueue throughput with and without workflows_input (the GIN index durable.index_inputs
   builds, jsonb_path_ops), alternately, RUNS times each, on an emptied table: single enqueues
   (pgbench, CLIENTS clients, one enqueue per transaction, an order-sized input of about 350
   bytes) and batches (pgbench, 2 clients, durable.enqueue_batch of 200), which wait for their
   commits' WAL flush; and the CPU cost alone: one session, synchronous_commit off, 5 batches of
   1000 per sample, 3 x RUNS samples interleaved. Prints the medians and the ratio with /
   without. The decision rule (issue 12): over about 5% slower, the index is opt-in (it is:
   durable.index_inputs).
2. With ROWS runs in the table: the plan of the statement durable.list_runs runs for an input
   filter (auto_explain of the nested statement), and the median time of that call, with and
   without the index.

Usage: bench/list_bench.py DSN   (a superuser on a freshly deployed database: it truncates the
workflow tables; `make bench` makes one). Env: RUNS (5), SECONDS_PER_RUN (5), CLIENTS (4),
ROWS (100000).
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

RUNS = int(os.environ.get("RUNS", "5"))
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "5"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
ROWS = int(os.environ.get("ROWS", "100000"))
BATCH = 200

ORDER = ('{"order_id": "o-1001", "customer": {"id": "c-42", "email": "ada@example.com", '
         '"tier": "gold"}, "items": [{"sku": "tea", "quantity": 2}, {"sku": "mug", '
         '"quantity": 1}, {"sku": "kettle", "quantity": 1}], "card": "tok_visa", '
         '"pay_by": "card", "total": 6150, "currency": "EUR", "note": "leave at the door"}')
SINGLE = f"select workflow_id from durable.enqueue('bench', '[{ORDER}]', 'bench_list') \\gset\n"
MANY = ("select count(*) from durable.enqueue_batch((select jsonb_agg(jsonb_build_object("
        "'name', 'bench', 'queue', 'bench_list', 'input', jsonb_build_array("
        f"jsonb_set('{ORDER}'::jsonb, '{{customer,id}}', to_jsonb('c-' || g))))) "
        f"from generate_series(1, {BATCH}) g));\n")


def pgbench(dsn: str, script: str, clients: int) -> float:
    """Transactions per second of script (pgbench -n -T SECONDS)."""
    with tempfile.NamedTemporaryFile("w", suffix=".pgbench", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)),
                              "-T", str(SECONDS), "-f", f.name, dsn], capture_output=True,
                             text=True, check=True).stdout
    finally:
        Path(f.name).unlink()
    return float(next(line.split()[2] for line in out.splitlines() if line.startswith("tps =")))


def reset(conn: psycopg.Connection) -> None:
    conn.execute("truncate durable.workflows, durable.steps, durable.errors cascade")


def index(conn: psycopg.Connection, on: bool) -> None:
    conn.execute("select durable.index_inputs(%s)", [on])


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else os.environ["DURABLE_BENCH_DSN"]
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("set client_min_messages = warning")
    conn.execute("select durable.set_queue('bench_list')")
    print(f"durable listing benchmark: {SECONDS}s per run, {RUNS} runs each, {os.cpu_count()} "
          f"cores (shared: figures move with the machine's load)")
    print(f"server: {conn.execute('show server_version').fetchone()[0]}, synchronous_commit="
          f"{conn.execute('show synchronous_commit').fetchone()[0]}")

    figures: dict[tuple[str, bool], list[float]] = {}
    for run in range(RUNS):
        for on in ((False, True) if run % 2 == 0 else (True, False)):
            index(conn, on)
            reset(conn)
            figures.setdefault(("single", on), []).append(pgbench(dsn, SINGLE, CLIENTS))
            reset(conn)
            figures.setdefault(("batch", on), []).append(pgbench(dsn, MANY, 2) * BATCH)
    for kind, what in (("single", f"single enqueues/s ({CLIENTS} clients)"),
                       ("batch", f"enqueued/s in batches of {BATCH} (2 clients)")):
        off, on = statistics.median(figures[kind, False]), statistics.median(figures[kind, True])
        print(f"{what}: without the input index {off:8.0f}, with it {on:8.0f}, ratio "
              f"{on / off:.2f} (cost {100 * (off / on - 1):+.1f}% time per enqueue)")

    cpu = f"""select count(*) from durable.enqueue_batch((select jsonb_agg(jsonb_build_object(
        'name', 'bench', 'queue', 'bench_list', 'input', jsonb_build_array(jsonb_set(
          '{ORDER}'::jsonb, '{{customer,id}}', to_jsonb('c-' || g || '-' || %s::text)))))
        from generate_series(1, 1000) g))"""
    conn.execute("set synchronous_commit = off")
    samples: dict[bool, list[float]] = {False: [], True: []}
    for run in range(3 * RUNS):
        for on in ((False, True) if run % 2 == 0 else (True, False)):
            index(conn, on)
            reset(conn)
            start = time.perf_counter()
            for k in range(5):
                conn.execute(cpu, [f"{run}-{k}"])
            samples[on].append(time.perf_counter() - start)
    conn.execute("reset synchronous_commit")
    off, on = statistics.median(samples[False]), statistics.median(samples[True])
    print(f"CPU alone, 5000 rows in batches of 1000 (1 session, synchronous_commit off): without "
          f"{1000 * off:.0f} ms, with {1000 * on:.0f} ms, ratio {off / on:.2f} (cost "
          f"{100 * (on / off - 1):+.1f}%)")

    reset(conn)
    index(conn, False)
    conn.execute(f"""select count(*) from durable.enqueue_batch((
        select jsonb_agg(jsonb_build_object('name', 'bench', 'queue', 'bench_list',
                 'input', jsonb_build_array(jsonb_set('{ORDER}'::jsonb, '{{customer,id}}',
                                                      to_jsonb('c-' || g)))))
          from generate_series(1, {ROWS}) g))""")
    pattern = '[{"customer": {"id": "c-777"}}]'
    plans: list[str] = []
    conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
    for on in (False, True):
        index(conn, on)
        conn.execute("analyze durable.workflows")
        plans.clear()
        conn.execute("load 'auto_explain'")
        conn.execute("set auto_explain.log_min_duration = 0")
        conn.execute("set auto_explain.log_nested_statements = on")
        conn.execute("set client_min_messages = log")
        conn.execute("select id from durable.list_runs(p_input => %s)", [pattern])
        conn.execute("set client_min_messages = warning")
        conn.execute("set auto_explain.log_min_duration = -1")
        times = []
        for _ in range(20):
            start = time.perf_counter()
            conn.execute("select id from durable.list_runs(p_input => %s)", [pattern]).fetchall()
            times.append(time.perf_counter() - start)
        plan = next((p for p in plans if "from durable.runs r" in p), "(no plan logged)")
        print(f"\nlist_runs(p_input => '{pattern}') on {ROWS} runs, "
              f"{'with' if on else 'without'} the input index: median "
              f"{1000 * statistics.median(times):.1f} ms")
        print("\n".join("  " + line for line in plan.splitlines()[2:]))
    index(conn, False)
    reset(conn)


if __name__ == "__main__":
    main()
