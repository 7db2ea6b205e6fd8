"""Chaos run: many workflows on several worker processes while a killer SIGKILLs random workers
(every 0.1 to 2 s, replacing them) and crashes Postgres (immediate shutdown) several times.
The workers are of two versions of the workflow code at once (tests/chaos/app.py: app, "v1",
and app_v2, "v2"), as during a rolling deploy; each version keeps at least one worker alive.
The waves are chaos_flow runs, versioned_flow runs (one in four; v2 inserts a step at
position 1) and runs that wait (one in eight each): sleeper (a durable sleep), pinger and its
ponger (messages both ways), fan_parent (three child workflows awaited); one crash_loop run,
whose second step SIGKILLs its own worker every time, is enqueued once a worker has registered
it. At the end it checks what durable promises and prints the figures:

  - every chaos_flow and versioned_flow run finished exactly once, succeeded, with the right
    output and the steps of its code; none stuck
  - every step checkpoint exists exactly once
  - transactional side effects: exactly one row per transactional step
  - plain steps: executed at least once, extra executions counted and bounded by the
    interruptions (a killed or dead worker can lose at most its in-flight steps, a crash at
    most every in-flight step)
  - versions: a versioned_flow run is pinned to the version of the worker that first claimed
    it and only that version's code ran its steps and finished it (never replayed by the other)
  - crash loop: crash_loop ends failed with a WorkerLost error naming CRASH_MAX_LOST_LEASES
    lost workers (the bound its decorator declares, registered by the workers and taken by
    enqueue), and its crash step ran at most that many times
  - waiting: every sleeper, pinger, ponger, fan_parent and fan_child succeeded with the right
    output and steps; every message was sent once (PINGS per pair and direction), consumed
    once (durable.run_messages.consumed_step set, and named by exactly one recv step of its
    destination, whose recorded output is that message), none lost; each fan_parent has its
    FAN_CHILDREN children (parent_id set, ids from its own id and the step's position)

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
from tests.chaos.app import (
    CHAOS_LAYOUT,
    CHAOS_MAX_LOST_LEASES,
    CRASH_MAX_LOST_LEASES,
    FAN_CHILDREN,
    PINGS,
    PLAIN_STEPS,
    TRANSACTIONAL_STEPS,
    VERSIONED_LAYOUT,
    VERSIONS,
    WAITING_LAYOUT,
    expected_output,
    expected_versioned_output,
    expected_waiting_output,
    pong_id,
)

# the worker's MODULE:APP for each version of the code
APPS = {"v1": "tests.chaos.app:app", "v2": "tests.chaos.app:app_v2"}
CRASH_ID = "crash-loop"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--short", action="store_true", help="about a minute: the make test mode")
    p.add_argument("--long", action="store_true", help=">= 1,000 kills and >= 10 crashes")
    p.add_argument("--duration", type=float, help="seconds of killing (then drain)")
    p.add_argument("--restarts", type=int, help="Postgres immediate restarts during the run")
    p.add_argument("--workers", type=int, default=3,
                   help="worker processes alive at once (at least one of each version)")
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
    args.versions = VERSIONS
    if args.workers < len(args.versions):
        p.error(f"--workers must be at least {len(args.versions)}: one per code version")
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
    """The worker processes: start, SIGKILL one at random, keep the count up, stop all.

    args.versions (default just "v1") are the code versions to run (APPS): a replacement is
    of the version with the fewest live workers, so each keeps at least one."""

    def __init__(self, dsn: str, logdir: Path, args: argparse.Namespace):
        self.dsn, self.logdir, self.args = dsn, logdir, args
        self.versions: tuple[str, ...] = tuple(getattr(args, "versions", ("v1",)))
        self.procs: list[subprocess.Popen] = []
        self.version_of: dict[subprocess.Popen, str] = {}
        self.started = 0
        self.started_by_version: collections.Counter = collections.Counter()
        self.kills = 0
        self.kills_by_version: collections.Counter = collections.Counter()
        self.killed: set[subprocess.Popen] = set()
        # workers that died without being killed here: the crash loop's, or one that gave up
        # while Postgres was down
        self.deaths = 0

    def _spawn(self, version: str) -> None:
        self.started += 1
        self.started_by_version[version] += 1
        env = dict(os.environ, DATABASE_URL=self.dsn, CHAOS_LOG_DIR=str(self.logdir),
                   PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(self.logdir / f"worker-{self.started}.out", "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "durable", "worker", APPS[version],
                 "--queues", "chaos", "--concurrency", str(self.args.concurrency),
                 "--lease-timeout", str(self.args.lease_timeout), "--poll-interval", "0.2",
                 "--worker-id", f"chaos-{self.started}-{version}", "--log-level", "WARNING"],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        self.procs.append(proc)
        self.version_of[proc] = version

    def top_up(self) -> None:
        """Replace workers that died (killed, crashed by the crash loop, or gave up while
        Postgres was down), each by one of the version with the fewest live workers."""
        alive = []
        for p in self.procs:
            if p.poll() is None:
                alive.append(p)
            elif p not in self.killed:
                self.deaths += 1
        self.procs = alive
        while len(self.procs) < self.args.workers:
            live = collections.Counter(self.version_of[p] for p in self.procs)
            self._spawn(min(self.versions,
                            key=lambda v: (live[v], self.started_by_version[v])))

    def kill_one(self, rng: random.Random) -> None:
        alive = [p for p in self.procs if p.poll() is None]
        if alive:
            victim = rng.choice(alive)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            self.killed.add(victim)
            self.kills += 1
            self.kills_by_version[self.version_of[victim]] += 1
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


def wave_name(n: int) -> str:
    """The workflow of the n-th enqueued run: versioned_flow one in four; sleeper, pinger (with
    its ponger) and fan_parent one in eight each; else chaos_flow."""
    return {3: "versioned_flow", 7: "versioned_flow", 1: "sleeper", 2: "pinger",
            5: "fan_parent"}.get(n % 8, "chaos_flow")


def runs_of(name: str) -> int:
    """How many runs the n-th enqueued run makes: itself, and its ponger or its children."""
    return {"pinger": 2, "fan_parent": 1 + FAN_CHILDREN}.get(name, 1)


def enqueue_wave(conn: psycopg.Connection, start: int, count: int) -> int:
    """Enqueue runs start .. start + count - 1 (a pinger with its ponger) in one batch; how many
    runs they make in all (with the children the fan_parents will start)."""
    # max_lost_leases given: the first wave goes in before any worker registered the
    # decorators' bound, and the random kills must not be taken for a crash loop
    items = []
    for n in range(start, start + count):
        items.append({"name": wave_name(n), "queue": "chaos", "workflow_id": f"chaos-{n}",
                      "input": [n], "max_lost_leases": CHAOS_MAX_LOST_LEASES})
        if wave_name(n) == "pinger":
            items.append({"name": "ponger", "queue": "chaos", "workflow_id": pong_id(n),
                          "input": [n, f"chaos-{n}"], "max_lost_leases": CHAOS_MAX_LOST_LEASES})
    conn.execute("select count(*) from durable.enqueue_batch(%s::jsonb)", (json.dumps(items),))
    return sum(runs_of(wave_name(n)) for n in range(start, start + count))


def enqueue_crash_loop(conn: psycopg.Connection) -> bool:
    """Enqueue the crash loop once a worker has registered it, leaving its queue and bound to
    the registration (the decorator's max_lost_leases); True when enqueued."""
    if conn.execute("select 1 from durable.workflow_types "
                    "where name = 'crash_loop'").fetchone() is None:
        return False
    conn.execute("select durable.enqueue(p_name => 'crash_loop', p_input => '[0]'::jsonb, "
                 "p_workflow_id => %s)", (CRASH_ID,))
    return True


def unfinished(conn: psycopg.Connection) -> int:
    return conn.execute("select count(*) from durable.workflows "
                        "where status not in ('succeeded', 'failed', 'cancelled')").fetchone()[0]


def sample_registrations(conn: psycopg.Connection, seen: set[str]) -> None:
    """Add to seen the workers whose row has no registration now: every chaos worker registers
    its names and version first, so such a row was made again without them (by a heartbeat
    or a claim after the row was deleted as dead), and its claims would not pin runs."""
    seen.update(w for (w,) in conn.execute(
        "select id from durable.workers where version is null").fetchall())


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
        enqueued = 0  # the runs enqueued (their numbers n)
        expected = 0  # the runs they make (pongers and children included)
        with psycopg.connect(dsn, autocommit=True) as conn:
            expected += enqueue_wave(conn, enqueued, args.batch)
        enqueued += args.batch
        fleet.top_up()

        restarts, downtime = 0, 0.0
        crash_enqueued = False
        unregistered: set[str] = set()
        next_sample = 0.0
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
                if not crash_enqueued:
                    crash_enqueued = enqueue_crash_loop(conn)
                if time.monotonic() >= next_sample:
                    sample_registrations(conn, unregistered)
                    next_sample = time.monotonic() + 0.25
                if unfinished(conn) < args.backlog:
                    expected += enqueue_wave(conn, enqueued, args.batch)
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
            sample_registrations(conn, unregistered)
            time.sleep(0.2)
        drain = time.monotonic() - drain_began
        fleet.stop()
        ok = check(conn, logdir, expected, crash_enqueued, unregistered, fleet, restarts, args,
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


def read_logs(logdir: Path, kind: str) -> list[list[str]]:
    """The lines of the workers' logs of kind ("exec", "crash"), split into fields."""
    return [line.split() for path in logdir.glob(f"{kind}-*.log")
            for line in path.read_text().splitlines()]


def check(conn: psycopg.Connection, logdir: Path, enqueued: int, crash_enqueued: bool,
          unregistered: set[str], fleet: Fleet, restarts: int, args: argparse.Namespace, seconds: float, drain: float,
          downtime: float) -> bool:
    q = lambda sql: conn.execute(sql).fetchall()
    statuses = dict(q("select status, count(*) from durable.workflows group by status"))
    runs = q("select w.id, w.name, w.status, (w.input->>0)::int, w.output, w.version, w.error, "
             "w.lost_leases, w.max_lost_leases, w.input, w.parent_id, "
             "coalesce(array_agg(s.name order by s.step_id) "
             "filter (where s.step_id is not null), '{}'), "
             "coalesce(jsonb_agg(s.output order by s.step_id) "
             "filter (where s.step_id is not null), '[]') "
             "from durable.workflows w left join durable.steps s on s.workflow_id = w.id "
             "group by w.id")
    steps_total = q("select count(*) from durable.steps")[0][0]
    step_dups = q("select count(*) from (select 1 from durable.steps "
                  "group by workflow_id, step_id having count(*) > 1) d")[0][0]
    effects = {(w, s): c for w, s, c in q(
        "select workflow_id, step_id, count(*) from chaos.side_effects group by 1, 2")}
    names = lambda kinds: ",".join(f"'{n}'" for n in sorted(kinds))
    expected_effects = {(w, s) for w, s in q(
        f"select workflow_id, step_id from durable.steps "
        f"where name in ({names(TRANSACTIONAL_STEPS)})")}
    effect_dups = sum(1 for c in effects.values() if c > 1)
    effect_missing = len(expected_effects - effects.keys())
    effect_orphans = len(effects.keys() - expected_effects)

    # the chaos_flow and versioned_flow runs: succeeded, right output, the steps of their code
    pinned = {}  # versioned_flow id -> the version it is pinned to
    succeeded = wrong_output = wrong_steps = 0
    started = collections.Counter()  # versioned_flow runs by the version that first claimed
    finished = collections.Counter()  # ... by the version whose code returned the output
    mixed = other_version_steps = 0
    pinned_chaos = collections.Counter()
    lost_leases = collections.Counter()  # lost leases of the runs that succeeded
    bad = []  # (id, pinned version, status, output, steps, error type) of wrong versioned runs
    crash = None
    waiting_runs = collections.Counter()  # the waiting workflows' runs by name
    children_of = collections.defaultdict(list)  # fan_parent id -> its children's ids
    orphans = 0  # fan_child runs without a parent, or with a parent that is not a fan_parent
    for (wf, name, status, n, output, version, error, lost, max_lost, input_, parent,
         steps, outputs) in runs:
        if wf == CRASH_ID:
            crash = (status, error, lost, max_lost, steps)
            continue
        succeeded += status == "succeeded"
        if status == "succeeded":
            lost_leases[lost] += 1
        if name in WAITING_LAYOUT:
            waiting_runs[name] += 1
            want = expected_waiting_output(name, n, input_[1] if name == "fan_child" else None)
            wrong_output += status == "succeeded" and output != want
            wrong_steps += steps != WAITING_LAYOUT[name]
            if name == "fan_child":
                if parent is None:
                    orphans += 1
                else:
                    children_of[parent].append(wf)
            if status != "succeeded" or steps != WAITING_LAYOUT[name]:
                bad.append((wf, version, status, output, steps, (error or {}).get("type")))
            continue
        if name == "chaos_flow":
            pinned_chaos[version] += 1
            wrong_output += status == "succeeded" and output != expected_output(n)
            wrong_steps += steps != CHAOS_LAYOUT
            continue
        pinned[wf] = version
        started[version] += 1
        wrong = steps != VERSIONED_LAYOUT.get(version)
        others = sum(1 for o in outputs if o[0] != version)
        if status == "succeeded":
            finished[output[0]] += 1
            mixed += output[0] != version
            wrong |= output != expected_versioned_output(n, version)
            wrong_output += output != expected_versioned_output(n, version)
        wrong_steps += steps != VERSIONED_LAYOUT.get(version)
        other_version_steps += others
        if wrong or others or status != "succeeded":
            bad.append((wf, version, status, output, steps, (error or {}).get("type")))

    executions: collections.Counter = collections.Counter()
    other_version_executions = 0
    for fields in read_logs(logdir, "exec"):
        executions[(fields[0], int(fields[1]))] += 1
        if len(fields) > 2 and fields[2] != pinned.get(fields[0]):
            other_version_executions += 1
    plain_recorded = {(w, s) for w, s in q(
        f"select workflow_id, step_id from durable.steps where name in ({names(PLAIN_STEPS)})")}
    never_ran = len(plain_recorded - executions.keys())
    extra = sum(c - 1 for k, c in executions.items() if k in plain_recorded)
    in_flight_bound = ((fleet.kills + fleet.deaths) * args.concurrency
                       + restarts * args.workers * args.concurrency)

    # the crash loop: failed by the reclaim that reached its bound, its crash step run at most
    # that many times (each run killed its worker)
    crash_runs = [f for f in read_logs(logdir, "crash") if f[0] == CRASH_ID]
    crash_status, crash_error, crash_lost, crash_max, crash_steps = crash or (None,) * 5
    crash_error = crash_error or {}
    crash_ok = (crash_status == "failed" and crash_error.get("type") == "WorkerLost"
                and crash_error.get("lost_leases") == CRASH_MAX_LOST_LEASES
                and f"lost {CRASH_MAX_LOST_LEASES} times" in crash_error.get("message", "")
                and crash_lost == CRASH_MAX_LOST_LEASES and crash_max == CRASH_MAX_LOST_LEASES
                and crash_steps in ([], ["effect"])
                and len(crash_runs) <= CRASH_MAX_LOST_LEASES)

    # messages: each sent once, consumed once by the recv step that recorded it, none lost
    messages = q("select id, workflow_id, sender, topic, consumed_step from durable.run_messages")
    recvs = q("select workflow_id, step_id, output from durable.steps "
              "where name = 'durable.recv'")
    per_route = collections.Counter((m[2], m[1], m[3]) for m in messages)
    pairs = waiting_runs["pinger"]
    pinger_ns = [r[3] for r in runs if r[1] == "pinger"]
    routes = ({(f"chaos-{n}", pong_id(n), "ping") for n in pinger_ns}
              | {(pong_id(n), f"chaos-{n}", "pong") for n in pinger_ns})
    sent_twice = sum(c - PINGS for c in per_route.values() if c > PINGS)
    unsent = sum(max(0, PINGS - per_route[r]) for r in routes) + len(per_route.keys() - routes)
    consumers = collections.defaultdict(list)  # message id -> the recv steps that name it
    recv_timed_out = 0
    for wf, step, output in recvs:
        if output.get("timed_out"):
            recv_timed_out += 1
        else:
            consumers[output["message_id"]].append((wf, step))
    consumed_twice = sum(1 for c in consumers.values() if len(c) > 1)
    by_id = {m[0]: m for m in messages}
    unconsumed = sum(1 for m in messages if m[4] is None)
    # consumed (consumed_step set) without the recv step of that position naming it
    lost_messages = unconsumed + sum(
        1 for m in messages if m[4] is not None and consumers.get(m[0]) != [(m[1], m[4])])
    wrong_consumer = sum(1 for mid, c in consumers.items()
                         if mid not in by_id or (by_id[mid][1], by_id[mid][4]) != c[0])
    wrong_children = sum(1 for n in (r[3] for r in runs if r[1] == "fan_parent")
                         if sorted(children_of.get(f"chaos-{n}", []))
                         != sorted(f"chaos-{n}-{i}" for i in range(FAN_CHILDREN)))
    wrong_children += len(children_of.keys() - {r[0] for r in runs if r[1] == "fan_parent"})

    lost = enqueued - succeeded
    duplicated = step_dups + effect_dups
    checks = {
        "every workflow succeeded": succeeded == enqueued
                                    and len(runs) == enqueued + crash_enqueued,
        "messages sent once, consumed once, none lost":
            len(messages) == 2 * PINGS * pairs and sent_twice == 0 and unsent == 0
            and consumed_twice == 0 and lost_messages == 0 and wrong_consumer == 0
            and recv_timed_out == 0,
        "each fan_parent has its children": wrong_children == 0 and orphans == 0,
        "outputs right": wrong_output == 0,
        "every workflow has the steps of its code once": wrong_steps == 0,
        "no step recorded twice": step_dups == 0,
        "side effects exactly once": effect_dups == 0 and effect_missing == 0
                                     and effect_orphans == 0,
        "plain steps ran at least once": never_ran == 0,
        "extra executions within interruptions": extra <= in_flight_bound,
        "each versioned run ran and finished on its own version's code":
            mixed == 0 and other_version_steps == 0 and other_version_executions == 0
            and set(started) == set(fleet.versions) and None not in started,
        f"crash loop failed with WorkerLost after {CRASH_MAX_LOST_LEASES} lost workers, "
        f"ran at most {CRASH_MAX_LOST_LEASES} times": crash_enqueued and crash_ok,
    }
    print(f"chaos: {seconds:.0f} s ({drain:.0f} s drain), {fleet.kills} kills, "
          f"{fleet.deaths} other worker deaths, {fleet.started} worker starts, {restarts} "
          f"Postgres crashes ({downtime:.1f} s down in all)")
    print(f"chaos: {len(runs)} workflows, {steps_total} steps; statuses {statuses}")
    print(f"chaos: lost {lost}, duplicated {duplicated} (step rows {step_dups}, side effects "
          f"{effect_dups}), side effects missing {effect_missing}, wrong outputs "
          f"{wrong_output}, wrong steps {wrong_steps}")
    print(f"chaos: plain steps {len(plain_recorded)}, extra executions {extra} "
          f"(bound {in_flight_bound}: (kills + deaths) x slots + crashes x all slots); lost "
          f"leases of the runs that succeeded {dict(sorted(lost_leases.items()))}")
    print("chaos: versions: " + ", ".join(
        f"{v} {fleet.started_by_version[v]} workers ({fleet.kills_by_version[v]} killed), "
        f"versioned_flow started {started[v]} finished {finished[v]}, chaos_flow "
        f"{pinned_chaos[v]}" for v in fleet.versions)
          + f"; finished by other code {mixed}, steps run by other code "
          f"{other_version_steps + other_version_executions}; worker rows seen without their "
          f"registration {len(unregistered)}")
    print(f"chaos: waiting: {dict(sorted(waiting_runs.items()))}; messages {len(messages)} "
          f"(expected {2 * PINGS * pairs}): sent twice {sent_twice}, not sent {unsent}, "
          f"consumed twice {consumed_twice}, lost {lost_messages}, consumed by the wrong step "
          f"{wrong_consumer}, recv timed out {recv_timed_out}; fan_parents with wrong "
          f"children {wrong_children}, orphan children {orphans}; waits "
          f"{q('select count(*) from durable.waits')[0][0]} (parked "
          f"{q('select count(*) from durable.waits where parked_at is not null')[0][0]})")
    for wf, version, status, output, steps, error in bad[:5]:
        print(f"  run {wf}: pinned to {version}, {status}"
              f"{f' ({error})' if error else ''}, output {output}, steps {steps}")
    if crash is None:
        print("chaos: crash loop: never enqueued (no worker registered crash_loop)")
    else:
        print(f"chaos: crash loop: {crash_status} {crash_error.get('type')} after {crash_lost} "
              f"lost leases (bound {crash_max}), its crash step ran {len(crash_runs)} times: "
              f"{crash_error.get('message')}")
    for name, passed in checks.items():
        print(f"  {'ok  ' if passed else 'FAIL'} {name}")
    return all(checks.values())


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
