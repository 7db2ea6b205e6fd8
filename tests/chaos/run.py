"""Chaos run: many workflows on several worker processes while a killer SIGKILLs random workers
(every 0.1 to 2 s, replacing them) and crashes Postgres (immediate shutdown) several times.
At the end it checks what durable promises and prints the figures:

  - every workflow finished exactly once, succeeded, with the right output; none stuck
  - every step checkpoint exists exactly once
  - transactional side effects: exactly one row per transactional step
  - plain steps: executed at least once, extra executions counted and bounded by the
    interruptions (a killed worker can lose at most its in-flight steps, a crash at most
    every in-flight step)

Usage:
  python tests/chaos/run.py --short            about a minute (part of make test)
  python tests/chaos/run.py --long             >= 1,000 kills and >= 10 Postgres crashes
  python tests/chaos/run.py --duration 120 --restarts 4 ...

It builds its own private cluster (tests/chaos/pgcluster.py), never the suite's server.
Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import pgcluster

sys.path.insert(0, str(REPO))
from tests.chaos.app import STEPS, expected_output

TRANSACTIONAL = [i for i in range(STEPS) if i % 2 == 0]
PLAIN = [i for i in range(STEPS) if i % 2 == 1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--short", action="store_true", help="about a minute: the make test mode")
    p.add_argument("--long", action="store_true", help=">= 1,000 kills and >= 10 crashes")
    p.add_argument("--duration", type=float, help="seconds of killing (then drain)")
    p.add_argument("--restarts", type=int, help="Postgres immediate restarts during the run")
    p.add_argument("--workers", type=int, default=3, help="worker processes alive at once")
    p.add_argument("--concurrency", type=int, default=4, help="slots per worker")
    p.add_argument("--batch", type=int, default=100, help="workflows enqueued per wave")
    p.add_argument("--backlog", type=int, default=150,
                   help="enqueue another wave when fewer than this are unfinished")
    p.add_argument("--kill-min", type=float, default=0.1)
    p.add_argument("--kill-max", type=float, default=2.0)
    p.add_argument("--min-kills", type=int, default=0,
                   help="keep killing past --duration until this many kills")
    p.add_argument("--lease-timeout", type=float, default=1.0)
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--keep", action="store_true", help="keep the cluster folder (debugging)")
    args = p.parse_args(argv)
    if args.long:
        args.duration = args.duration or 1100
        args.restarts = 12 if args.restarts is None else args.restarts
        args.min_kills = max(args.min_kills, 1000)
    elif args.short or args.duration is None:
        args.duration = args.duration or 45
        args.restarts = 3 if args.restarts is None else args.restarts
    if args.restarts is None:
        args.restarts = max(1, int(args.duration // 60))
    return args


class Fleet:
    """The worker processes: start, SIGKILL one at random, keep the count up, stop all."""

    def __init__(self, dsn: str, logdir: Path, args: argparse.Namespace):
        self.dsn, self.logdir, self.args = dsn, logdir, args
        self.procs: list[subprocess.Popen] = []
        self.started = 0
        self.kills = 0

    def _spawn(self) -> None:
        self.started += 1
        env = dict(os.environ, DATABASE_URL=self.dsn, CHAOS_LOG_DIR=str(self.logdir),
                   PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(self.logdir / f"worker-{self.started}.out", "w") as log:
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "durable", "worker", "tests.chaos.app:app",
                 "--queues", "chaos", "--concurrency", str(self.args.concurrency),
                 "--lease-timeout", str(self.args.lease_timeout), "--poll-interval", "0.2",
                 "--worker-id", f"chaos-{self.started}", "--log-level", "WARNING"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO))

    def top_up(self) -> None:
        """Replace workers that died (killed, or gave up while Postgres was down)."""
        self.procs = [p for p in self.procs if p.poll() is None]
        while len(self.procs) < self.args.workers:
            self._spawn()

    def kill_one(self, rng: random.Random) -> None:
        alive = [p for p in self.procs if p.poll() is None]
        if alive:
            victim = rng.choice(alive)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            self.kills += 1
        self.top_up()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def enqueue_wave(conn: psycopg.Connection, start: int, count: int) -> None:
    items = [{"name": "chaos_flow", "queue": "chaos", "workflow_id": f"chaos-{n}",
              "input": [n]} for n in range(start, start + count)]
    conn.execute("select count(*) from durable.enqueue_batch(%s::jsonb)", (json.dumps(items),))


def unfinished(conn: psycopg.Connection) -> int:
    return conn.execute("select count(*) from durable.workflows "
                        "where status not in ('succeeded', 'failed', 'cancelled')").fetchone()[0]


def connect_retrying(dsn: str, deadline: float) -> psycopg.Connection:
    while True:
        try:
            return psycopg.connect(dsn, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    root = pgcluster.workspace("durable-chaos-")
    cluster = pgcluster.Cluster(root, "chaos").initdb()
    fleet = None
    try:
        cluster.start()
        dsn = pgcluster.deploy(cluster, "chaos", REPO)
        logdir = root / "logs"
        logdir.mkdir()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("select durable.set_queue('chaos')")
            conn.execute("create schema chaos")
            # no unique key on purpose: a duplicate side effect must be countable
            conn.execute("create table chaos.side_effects (workflow_id text not null, "
                         "step_id integer not null, at timestamptz not null default now())")
        # what a worker role needs: the client and worker functions, and the app's own table
        fleet = Fleet(dsn, logdir, args)
        enqueued = 0
        with psycopg.connect(dsn, autocommit=True) as conn:
            enqueue_wave(conn, enqueued, args.batch)
        enqueued += args.batch
        fleet.top_up()

        restarts, downtime = 0, 0.0
        began = time.monotonic()
        restart_at = sorted(rng.uniform(0.1, 0.9) * args.duration for _ in range(args.restarts))
        next_kill = began + rng.uniform(args.kill_min, args.kill_max)
        conn = None
        print(f"chaos: {args.workers} workers x {args.concurrency} slots, killing every "
              f"{args.kill_min}-{args.kill_max} s for {args.duration:.0f} s"
              f"{f' and until {args.min_kills} kills' if args.min_kills else ''}, "
              f"{args.restarts} Postgres crashes", flush=True)
        while True:
            now = time.monotonic()
            elapsed = now - began
            if elapsed >= args.duration and fleet.kills >= args.min_kills:
                break
            if restart_at and elapsed >= restart_at[0]:
                restart_at.pop(0)
                if conn is not None:
                    conn.close()
                    conn = None
                downtime += cluster.crash_restart()
                restarts += 1
            if now >= next_kill:
                fleet.kill_one(rng)
                next_kill = now + rng.uniform(args.kill_min, args.kill_max)
            fleet.top_up()
            try:
                if conn is None or conn.closed:
                    conn = connect_retrying(dsn, time.monotonic() + 30)
                if unfinished(conn) < args.backlog:
                    enqueue_wave(conn, enqueued, args.batch)
                    enqueued += args.batch
            except psycopg.OperationalError:
                conn = None
            time.sleep(min(0.05, max(0.0, next_kill - time.monotonic())))
            if int(elapsed) % 30 == 0 and elapsed - int(elapsed) < 0.05:
                print(f"  {elapsed:5.0f} s: {fleet.kills} kills, {restarts} crashes, "
                      f"{enqueued} enqueued", flush=True)

        # drain: no more kills; the last workers finish the work
        drain_began = time.monotonic()
        conn = conn or connect_retrying(dsn, time.monotonic() + 30)
        while unfinished(conn) and time.monotonic() - drain_began < args.drain_timeout:
            fleet.top_up()
            time.sleep(0.2)
        drain = time.monotonic() - drain_began
        fleet.stop()
        ok = check(conn, logdir, enqueued, fleet, restarts, args,
                   time.monotonic() - began, drain, downtime)
        conn.close()
        return 0 if ok else 1
    finally:
        if fleet is not None:
            fleet.stop()
        if args.keep:
            print(f"cluster kept in {root} (port {cluster.port})")
            cluster.stop("fast")
        else:
            pgcluster.remove(root, cluster)


def check(conn: psycopg.Connection, logdir: Path, enqueued: int, fleet: Fleet, restarts: int,
          args: argparse.Namespace, seconds: float, drain: float, downtime: float) -> bool:
    q = lambda sql: conn.execute(sql).fetchall()
    statuses = dict(q("select status, count(*) from durable.workflows group by status"))
    wrong_output = [(i, o) for i, n, o in q(
        "select id, (input->>0)::int, output from durable.workflows "
        "where status = 'succeeded'") if o != expected_output(n)]
    steps_total = q("select count(*) from durable.steps")[0][0]
    steps_per_wf = collections.Counter(c for (c,) in q(
        "select count(*) from durable.steps group by workflow_id"))
    step_dups = q("select count(*) from (select 1 from durable.steps "
                  "group by workflow_id, step_id having count(*) > 1) d")[0][0]
    effects = {(w, s): c for w, s, c in q(
        "select workflow_id, step_id, count(*) from chaos.side_effects group by 1, 2")}
    expected_effects = {(w, s) for w, s in q(
        f"select workflow_id, step_id from durable.steps "
        f"where step_id in ({','.join(map(str, TRANSACTIONAL))})")}
    effect_dups = sum(1 for c in effects.values() if c > 1)
    effect_missing = len(expected_effects - effects.keys())
    effect_orphans = len(effects.keys() - expected_effects)

    executions: collections.Counter = collections.Counter()
    for path in logdir.glob("exec-*.log"):
        for line in path.read_text().splitlines():
            wf, step = line.split()
            executions[(wf, int(step))] += 1
    plain_recorded = {(w, s) for w, s in q(
        f"select workflow_id, step_id from durable.steps "
        f"where step_id in ({','.join(map(str, PLAIN))})")}
    never_ran = len(plain_recorded - executions.keys())
    extra = sum(c - 1 for k, c in executions.items() if k in plain_recorded)
    in_flight_bound = (fleet.kills * args.concurrency
                       + restarts * args.workers * args.concurrency)

    succeeded = statuses.get("succeeded", 0)
    lost = enqueued - succeeded
    duplicated = step_dups + effect_dups
    checks = {
        "every workflow succeeded": succeeded == enqueued and sum(statuses.values()) == enqueued,
        "outputs right": not wrong_output,
        "every workflow has all its steps once": steps_per_wf == {STEPS: succeeded},
        "no step recorded twice": step_dups == 0,
        "side effects exactly once": effect_dups == 0 and effect_missing == 0
                                     and effect_orphans == 0,
        "plain steps ran at least once": never_ran == 0,
        "extra executions within interruptions": extra <= in_flight_bound,
    }
    print(f"chaos: {seconds:.0f} s ({drain:.0f} s drain), {fleet.kills} kills, "
          f"{fleet.started} worker starts, {restarts} Postgres crashes "
          f"({downtime:.1f} s down in all)")
    print(f"chaos: {enqueued} workflows, {steps_total} steps; statuses {statuses}")
    print(f"chaos: lost {lost}, duplicated {duplicated} (step rows {step_dups}, side effects "
          f"{effect_dups}), side effects missing {effect_missing}, wrong outputs "
          f"{len(wrong_output)}")
    print(f"chaos: plain steps {len(plain_recorded)}, extra executions {extra} "
          f"(bound {in_flight_bound}: kills x slots + crashes x all slots)")
    for name, passed in checks.items():
        print(f"  {'ok  ' if passed else 'FAIL'} {name}")
    return all(checks.values())


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
