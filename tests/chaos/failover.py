"""Failover run: a primary and a synchronous streaming standby on this machine; workers and the
client connect with a multi-host connection string (target_session_attrs=read-write). In the
middle of the run the primary dies (immediate shutdown) and the standby is promoted. Checks:

  - every workflow whose enqueue was acknowledged completes, with the right output
  - nothing committed is lost: every step and workflow seen on the primary just before it died
    is on the new primary, with the same output
  - transactional side effects exactly once

Usage: python tests/chaos/failover.py [--workflows 600] [--workers 2] [--after 100]
Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import pgcluster
from run import Fleet

sys.path.insert(0, str(REPO))
from tests.chaos.app import STEPS, expected_output


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workflows", type=int, default=600)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--after", type=int, default=100,
                   help="fail over once this many workflows have succeeded (work in flight)")
    p.add_argument("--lease-timeout", type=float, default=1.0)
    p.add_argument("--drain-timeout", type=float, default=120.0)
    return p.parse_args(argv)


def enqueue_retrying(dsn: str, ids: range) -> list[str]:
    """Enqueue chaos_flow(n) for each n, one transaction each, retrying through the failover
    (idempotent ids make a retry safe); returns the ids whose commit was acknowledged."""
    acked = []
    conn = None
    for n in ids:
        while True:
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
                conn.execute("select durable.enqueue('chaos_flow', %s::jsonb, 'chaos', %s)",
                             (json.dumps([n]), f"chaos-{n}"))
                acked.append(f"chaos-{n}")
                break
            except psycopg.OperationalError:
                conn = None
                time.sleep(0.1)
    if conn is not None:
        conn.close()
    return acked


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("CHAOS_STEP_SLEEP", "0.02")  # steps long enough to be caught mid-way
    root = pgcluster.workspace("durable-failover-")
    primary = pgcluster.Cluster(root, "primary").initdb()
    standby = None
    fleet = None
    try:
        primary.start()
        direct = pgcluster.deploy(primary, "chaos", REPO)
        with psycopg.connect(direct, autocommit=True) as conn:
            conn.execute("select durable.set_queue('chaos')")
            conn.execute("create schema chaos")
            conn.execute("create table chaos.side_effects (workflow_id text not null, "
                         "step_id integer not null, at timestamptz not null default now())")
        standby = primary.standby("standby1", synchronous=True)
        multi = (f"postgresql://{primary.superuser}@127.0.0.1:{primary.port},"
                 f"127.0.0.1:{standby.port}/chaos?target_session_attrs=read-write"
                 f"&connect_timeout=3")
        logdir = root / "logs"
        logdir.mkdir()
        half = args.workflows // 2
        began = time.monotonic()
        acked = enqueue_retrying(multi, range(half))
        fleet = Fleet(multi, logdir, argparse.Namespace(
            workers=args.workers, concurrency=args.concurrency, lease_timeout=args.lease_timeout))
        fleet.top_up()
        with psycopg.connect(direct, autocommit=True) as conn:
            while conn.execute("select count(*) from durable.workflows "
                               "where status = 'succeeded'").fetchone()[0] < args.after:
                time.sleep(0.02)

        # what the primary has committed just before it dies (all acknowledged by the standby)
        with psycopg.connect(direct, autocommit=True) as conn:
            running = conn.execute("select count(*) from durable.workflows "
                                   "where status = 'running'").fetchone()[0]
            before_steps = {(w, s): o for w, s, o in conn.execute(
                "select workflow_id, step_id, output from durable.steps").fetchall()}
            before_done = {w for (w,) in conn.execute(
                "select id from durable.workflows where status = 'succeeded'").fetchall()}
        primary.stop("immediate")
        failover_at = time.monotonic()
        standby.promote()
        promoted = time.monotonic() - failover_at
        acked += enqueue_retrying(multi, range(half, args.workflows))

        with psycopg.connect(multi, autocommit=True) as conn:
            deadline = time.monotonic() + args.drain_timeout
            while conn.execute("select count(*) from durable.workflows where status not in "
                               "('succeeded', 'failed', 'cancelled')").fetchone()[0]:
                if time.monotonic() > deadline:
                    break
                fleet.top_up()
                time.sleep(0.2)
            fleet.stop()
            rows = conn.execute("select id, status, (input->>0)::int, output "
                                "from durable.workflows").fetchall()
            after_steps = {(w, s): o for w, s, o in conn.execute(
                "select workflow_id, step_id, output from durable.steps").fetchall()}
            effects = conn.execute("select workflow_id, step_id, count(*) from "
                                   "chaos.side_effects group by 1, 2").fetchall()
            steps_count = conn.execute("select count(*) from durable.steps").fetchone()[0]
        status = {i: s for i, s, _, _ in rows}
        wrong = [i for i, s, n, o in rows if s == "succeeded" and o != expected_output(n)]
        lost_steps = [k for k, o in before_steps.items() if after_steps.get(k) != o]
        lost_done = [w for w in before_done if status.get(w) != "succeeded"]
        transactional = {k for k in after_steps if k[1] % 2 == 0}
        effect_keys = {(w, s) for w, s, _ in effects}
        checks = {
            "every acknowledged workflow succeeded":
                all(status.get(i) == "succeeded" for i in acked),
            "outputs right": not wrong,
            "all steps recorded": steps_count == STEPS * len(acked),
            "nothing committed before the failover lost": not lost_steps and not lost_done,
            "side effects exactly once": all(c == 1 for _, _, c in effects)
                                         and effect_keys == transactional,
        }
        print(f"failover: {len(acked)} workflows ({half} before, {len(acked) - half} after), "
              f"{args.workers} workers x {args.concurrency}; primary killed at "
              f"{failover_at - began:.1f} s with {len(before_steps)} steps and "
              f"{len(before_done)} workflows committed, {running} running; standby promoted in {promoted:.2f} s; "
              f"all done {time.monotonic() - failover_at:.1f} s after the failover")
        print(f"failover: lost steps {len(lost_steps)}, lost finished workflows {len(lost_done)}, "
              f"wrong outputs {len(wrong)}, worker starts {fleet.started}")
        for name, passed in checks.items():
            print(f"  {'ok  ' if passed else 'FAIL'} {name}")
        return 0 if all(checks.values()) else 1
    finally:
        if fleet is not None:
            fleet.stop()
        pgcluster.remove(root, *(c for c in (primary, standby) if c is not None))


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
