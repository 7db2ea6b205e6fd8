"""Automatic failover run: a pg_auto_failover formation (a monitor and --nodes data nodes, the
primary replicating synchronously), durable deployed on it, durable workers and a client on a
multi-host connection string (target_session_attrs=read-write), workflows enqueued at a steady
rate; then the primary's whole node (its pg_autoctl keeper, postgres and every backend) is
SIGKILLed and the monitor promotes a standby by itself. With --failovers N the killed node is
restarted (it rejoins as a standby) and the new primary is killed in turn, N times.

Checks:
  - every workflow whose enqueue was acknowledged succeeds, with the right output, and its
    steps are recorded once each (STEPS rows);
  - nothing acknowledged is lost: every step and finished workflow seen on the primary just
    before it died is on the new primary with the same output, and every checkpoint a worker
    had an answer for is there (a plain step's execution log line for step i proves step i-1's
    checkpoint was answered: the worker reads that answer before it runs the next step);
  - transactional side effects exactly once (no duplicate);
  - the failover happened without help: the node that serves writes afterwards is another one.

Measured: the time from the SIGKILL to the first write committed on the new primary (a probe
inserts a row every PROBE_INTERVAL s through the multi-host URI), and the monitor's events.

The monitor's and the keepers' timeouts are tuned (MONITOR_SETTINGS, KEEPER_SETTINGS; the
README's "High availability: pg_auto_failover" gives the reasons); --default-timeouts keeps
pg_auto_failover's defaults, for comparison.

Needs pg_autoctl and the pgautofailover extension for the major of the server programs
(Debian: postgresql-15-auto-failover); without them it exits 0 after a line that says it
skipped, or 1 with --require. pg_autoctl and postgres refuse root: as root the nodes run as the
`postgres` OS user (pgcluster's rule). Everything lives in one folder (--workdir, default a new
/tmp/durable-autofailover-*), removed at the end, with the ports from --base-port (default:
free ports).

Usage: python tests/chaos/auto_failover.py [--nodes 3] [--failovers 1] [--short]
Exit status 0 only when every check passed (or the run was skipped).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
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

DBNAME = "chaos"
# The monitor's settings (pgautofailover.*, in ms; pg_auto_failover's defaults in comments).
# The primary is marked unhealthy when its keeper has not reported for
# node_considered_unhealthy_timeout and the monitor's health check (a connection attempt every
# health_check_period, given health_check_timeout, retried health_check_max_retries times
# health_check_retry_delay apart) fails; the standby is then promoted after
# primary_demote_timeout, the time the old primary gets to stop itself.
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": 1000,                 # 5000
    "pgautofailover.health_check_timeout": 1000,                # 5000
    "pgautofailover.health_check_max_retries": 1,               # 2
    "pgautofailover.health_check_retry_delay": 500,             # 2000
    "pgautofailover.node_considered_unhealthy_timeout": 2000,   # 20000
    "pgautofailover.primary_demote_timeout": 5000,              # 30000
}
# The keepers' settings (pg_autoctl config set, seconds). A primary that reaches neither the
# monitor nor a standby for network_partition_timeout stops its postgres (it is on the losing
# side of a partition); that must happen before the monitor promotes another node, so it stays
# well below node_considered_unhealthy_timeout + primary_demote_timeout.
KEEPER_SETTINGS = {
    "timeout.network_partition_timeout": 3,                     # 20
}
PROBE_INTERVAL = 0.05


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=3, help="data nodes (2 or more)")
    p.add_argument("--failovers", type=int, default=1,
                   help="kill the primary this many times (the killed node rejoins in between)")
    p.add_argument("--rate", type=float, default=40.0, help="workflows enqueued per second")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--after", type=int, default=100,
                   help="kill the primary once this many more workflows have succeeded")
    p.add_argument("--lease-timeout", type=float, default=1.0)
    p.add_argument("--drain-timeout", type=float, default=120.0)
    p.add_argument("--default-timeouts", action="store_true",
                   help="keep pg_auto_failover's default timeouts")
    p.add_argument("--short", action="store_true",
                   help="the make test form: 3 nodes, one failover, --after 60")
    p.add_argument("--require", action="store_true",
                   help="fail (exit 1) instead of skipping where pg_auto_failover is missing")
    p.add_argument("--workdir", type=Path, help="folder for the nodes (made, then removed)")
    p.add_argument("--base-port", type=int,
                   help="the monitor's port; the data nodes take the next ones")
    args = p.parse_args(argv)
    if args.short:
        args.nodes, args.failovers, args.after = 3, 1, 60
    if args.nodes < 2:
        p.error("--nodes must be 2 or more")
    return args


def missing_auto_failover(bindir: Path) -> str | None:
    """Why pg_auto_failover cannot run with the server programs in bindir, or None."""
    if not shutil.which("pg_autoctl"):
        return "no pg_autoctl on PATH"
    major = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                           text=True, check=True).stdout.split()[2].split(".")[0]
    libdir = ""
    if (bindir / "pg_config").exists():
        libdir = subprocess.run([str(bindir / "pg_config"), "--pkglibdir"], capture_output=True,
                                text=True, check=False).stdout.strip()
    candidates = [Path(libdir) / "pgautofailover.so"] if libdir else []
    candidates.append(Path(f"/usr/lib/postgresql/{major}/lib/pgautofailover.so"))
    if not any(c.exists() for c in candidates):
        return (f"no pgautofailover extension for PostgreSQL {major} here (server programs in "
                f"{bindir}): Debian packages it per major, postgresql-{major}-auto-failover, "
                f"and bookworm has it for 15 only")
    return None


# -- processes --------------------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    out: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        out.setdefault(ppid, []).append(int(entry))
    return out


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (postgres's children call setsid: a process group would
    miss them)."""
    kids, found, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(kids.get(p, []))
    return found


def _signal_all(pids: list[int], sig: int) -> None:
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


class Formation:
    """A pg_auto_failover monitor and data nodes under `root`, run as `os_user` (None: as
    ourselves), each node one `pg_autoctl run` process tree."""

    def __init__(self, root: Path, bindir: Path, base_port: int | None, nodes: int):
        self.root, self.bindir = root, bindir
        self.os_user = pgcluster._server_user()
        self.user = self.os_user or pwd.getpwuid(os.geteuid()).pw_name  # initdb's superuser
        ports = ([base_port + i for i in range(nodes + 1)] if base_port
                 else [pgcluster.free_port() for _ in range(nodes + 1)])
        self.monitor_port, self.node_ports = ports[0], ports[1:]
        self.names = [f"node{i + 1}" for i in range(nodes)]
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(root), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
            # pg_autoctl keeps its configuration, state and pid files under the XDG folders
            "XDG_CONFIG_HOME": str(root / "xdg" / "config"),
            "XDG_DATA_HOME": str(root / "xdg" / "data"),
            "XDG_RUNTIME_DIR": str(root / "xdg" / "run"),
        }
        for sub in ("", "xdg", "xdg/config", "xdg/data", "xdg/run", "logs"):
            path = root / sub
            path.mkdir(parents=True, exist_ok=True)
            if self.os_user:
                shutil.chown(path, self.os_user, self.os_user)
        (root / "xdg" / "run").chmod(0o700)

    # -- pg_autoctl ---------------------------------------------------------------------------

    def _popen_kwargs(self) -> dict:
        kwargs: dict = {"env": self.env, "cwd": self.root}
        if self.os_user:
            kwargs.update(user=self.os_user, group=self.os_user, extra_groups=[])
        return kwargs

    def autoctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run one pg_autoctl command to its end."""
        out = subprocess.run(["pg_autoctl", *args], capture_output=True, text=True,
                             check=False, timeout=300, **self._popen_kwargs())
        if check and out.returncode:
            raise RuntimeError(f"pg_autoctl {' '.join(args)} failed ({out.returncode}):\n"
                               f"{out.stderr[-3000:]}")
        return out

    def start(self, name: str) -> None:
        """`pg_autoctl run` for node `name` ("monitor" or a data node), in the background."""
        with open(self.root / "logs" / f"{name}.log", "a") as log:
            self.procs[name] = subprocess.Popen(
                ["pg_autoctl", "run", "--pgdata", str(self.root / name)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                **self._popen_kwargs())

    def kill(self, name: str) -> None:
        """SIGKILL node `name` whole: its pg_autoctl processes, postgres and every backend
        (stopped first, so nothing forks in between)."""
        proc = self.procs.pop(name)
        pids = _tree(proc.pid)
        _signal_all(pids, signal.SIGSTOP)
        pids = sorted(set(pids) | set(_tree(proc.pid)))
        _signal_all(pids, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        """Kill every node (the folder is removed next: nothing to keep)."""
        for name in list(self.procs):
            self.kill(name)

    # -- setup --------------------------------------------------------------------------------

    @property
    def monitor_uri(self) -> str:
        return (f"postgres://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover"
                f"?sslmode=disable")

    def monitor_sql(self, query: str) -> list[tuple]:
        with psycopg.connect(f"postgresql://{self.user}@127.0.0.1:{self.monitor_port}/"
                             f"pg_auto_failover", autocommit=True, connect_timeout=3) as conn:
            cur = conn.execute(query)
            return cur.fetchall() if cur.description else []

    def states(self) -> dict[str, tuple[str, str]]:
        """Each data node's (reported state, assigned state), as the monitor has them."""
        return {n: (r, g) for n, r, g in self.monitor_sql(
            "select nodename, reportedstate::text, goalstate::text from pgautofailover.node")}

    def wait_states(self, want: dict[str, str] | None = None, timeout: float = 120) -> None:
        """Wait until every data node reports its assigned state (and `want`'s, where given):
        one primary, the others secondary."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                states = self.states()
            except psycopg.OperationalError:
                states = {}
            settled = (len(states) == len(self.names)
                       and all(r == g for r, g in states.values())
                       and sorted(r for r, _ in states.values())
                       == sorted(["primary"] + ["secondary"] * (len(self.names) - 1))
                       and all(states[n][0] == s for n, s in (want or {}).items()))
            if settled:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the formation did not settle: {states}")
            time.sleep(0.2)

    def primary(self) -> str:
        return next(n for n, (r, g) in self.states().items() if r == "primary" == g)

    def create(self, tuned: bool) -> None:
        """The monitor (tuned), then the data nodes one by one: the first becomes the primary,
        each next one a synchronous standby (pg_auto_failover sets synchronous_standby_names)."""
        self.autoctl("create", "monitor", "--pgdata", str(self.root / "monitor"),
                     "--pgctl", str(self.bindir / "pg_ctl"), "--pgport", str(self.monitor_port),
                     "--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl")
        self.autoctl("config", "set", "--pgdata", str(self.root / "monitor"),
                     "postgresql.listen_addresses", "127.0.0.1")
        self.start("monitor")
        self._wait_monitor()
        if tuned:
            for key, value in MONITOR_SETTINGS.items():
                self.monitor_sql(f"alter system set {key} = {value}")
            self.monitor_sql("select pg_reload_conf()")
        for name, port in zip(self.names, self.node_ports):
            self.autoctl("create", "postgres", "--pgdata", str(self.root / name),
                         "--pgctl", str(self.bindir / "pg_ctl"), "--pgport", str(port),
                         "--listen", "127.0.0.1", "--hostname", "127.0.0.1", "--name", name,
                         "--monitor", self.monitor_uri, "--auth", "trust", "--no-ssl")
            if tuned:
                for key, value in KEEPER_SETTINGS.items():
                    self.autoctl("config", "set", "--pgdata", str(self.root / name),
                                 key, str(value))
            self.start(name)
            deadline = time.monotonic() + 120
            while True:
                states = self.states()
                if states.get(name, ("", ""))[0] in ("single", "secondary"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not join: {states}")
                time.sleep(0.2)
        self.wait_states()

    def _wait_monitor(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.monitor_sql("select 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # -- access -------------------------------------------------------------------------------

    def port_of(self, name: str) -> int:
        return self.node_ports[self.names.index(name)]

    def dsn(self, name: str, dbname: str = DBNAME) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port_of(name)}/{dbname}"

    def multi_host(self, dbname: str = DBNAME) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.node_ports)
        return (f"postgresql://{self.user}@{hosts}/{dbname}"
                f"?target_session_attrs=read-write&connect_timeout=2")

    def events(self, since: float) -> list[str]:
        """The monitor's events since `since` (epoch s), one line each, oldest first."""
        rows = self.monitor_sql(
            "select eventtime, nodename, reportedstate::text, goalstate::text, description "
            f"from pgautofailover.event where eventtime >= to_timestamp({float(since)}) "
            "order by eventid")
        return [f"{t:%H:%M:%S.%f}"[:-3] + f" {n}: {r} -> {g}: {d}" for t, n, r, g, d in rows]


def deploy(formation: Formation, primary: str) -> None:
    """Create the durable database as UTF8 (a database pg_autoctl made under a C locale would be
    SQL_ASCII) and deploy durable into it with Sqitch, through the primary."""
    with psycopg.connect(formation.dsn(primary, "postgres"), autocommit=True) as conn:
        conn.execute(f"create database {DBNAME} template template0 encoding 'UTF8' "
                     f"locale 'C.UTF-8'")
    env = dict(os.environ, SQITCH_FULLNAME=os.environ.get("SQITCH_FULLNAME", "durable faults"),
               SQITCH_EMAIL=os.environ.get("SQITCH_EMAIL", "durable-faults@localhost"))
    subprocess.run(["sqitch", "--quiet", "deploy", "db:pg://" + formation.dsn(primary)
                    .removeprefix("postgresql://")], cwd=REPO, env=env, check=True,
                   capture_output=True, text=True)
    with psycopg.connect(formation.dsn(primary), autocommit=True) as conn:
        conn.execute("select durable.set_queue('chaos')")
        conn.execute("create schema chaos")
        conn.execute("create table chaos.side_effects (workflow_id text not null, "
                     "step_id integer not null, at timestamptz not null default now())")
        conn.execute("create table chaos.probe (id bigserial primary key, "
                     "at timestamptz not null default clock_timestamp())")


# -- load -------------------------------------------------------------------------------------

class Enqueuer(threading.Thread):
    """Enqueues chaos_flow(n), n = 0, 1, ..., `rate` a second, one transaction each, through
    the multi-host URI, retrying through failovers (the ids are idempotent); `acked` holds the
    ids whose commit was acknowledged."""

    def __init__(self, dsn: str, rate: float):
        super().__init__(daemon=True)
        self.dsn, self.rate = dsn, rate
        self.acked: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        conn = None
        n = 0
        began = time.monotonic()
        while not self.halt.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, autocommit=True)
                conn.execute("select durable.enqueue('chaos_flow', %s::jsonb, 'chaos', %s)",
                             (json.dumps([n]), f"chaos-{n}"))
                self.acked.append(f"chaos-{n}")
                n += 1
                self.halt.wait(max(0.0, began + n / self.rate - time.monotonic()))
            except psycopg.OperationalError:
                conn = None
                time.sleep(0.05)
        if conn is not None:
            conn.close()


class Probe(threading.Thread):
    """Inserts a row into chaos.probe every PROBE_INTERVAL s through the multi-host URI, each
    on a fresh connection, and records (time.monotonic(), the port of the node that
    committed it)."""

    def __init__(self, dsn: str):
        super().__init__(daemon=True)
        self.dsn = dsn
        self.writes: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    port = conn.execute("insert into chaos.probe default values "
                                        "returning inet_server_port()").fetchone()[0]
                self.writes.append((time.monotonic(), port))
            except psycopg.OperationalError:
                pass
            self.halt.wait(PROBE_INTERVAL)

    def first_write_after(self, t: float, not_port: int, timeout: float = 180) -> float | None:
        """The time of the first write after t committed elsewhere than not_port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, port in list(self.writes):
                if at > t and port != not_port:
                    return at
            time.sleep(0.05)
        return None


def count_succeeded(dsn: str) -> int:
    while True:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                return conn.execute("select count(*) from durable.workflows "
                                    "where status = 'succeeded'").fetchone()[0]
        except psycopg.OperationalError:
            time.sleep(0.2)


def acknowledged_by_log(logdir: Path) -> set[tuple[str, int]]:
    """(workflow, step) pairs whose checkpoint a worker had the answer of: a plain step's
    execution log line "workflow i" is written only after step i-1's checkpoint answer was
    read (durable.execution: the next step's start reads it)."""
    out = set()
    for path in glob.glob(str(logdir / "exec-*.log")):
        with open(path) as f:
            for line in f:
                wf, step = line.split()[:2]
                if int(step) > 0:
                    out.add((wf, int(step) - 1))
    return out


# -- the run ----------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    bindir = pgcluster.bindir()
    why = missing_auto_failover(bindir)
    if why and args.require:
        print(f"auto-failover run: FAILED: pg_auto_failover is required here (--require): {why}")
        return 1
    if why:
        print(f"auto-failover run: SKIPPED: {why}")
        return 0
    os.environ.setdefault("CHAOS_STEP_SLEEP", "0.02")
    if args.workdir:
        root = args.workdir
        root.mkdir(parents=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="durable-autofailover-", dir="/tmp"))
    formation = Formation(root, bindir, args.base_port, args.nodes)
    fleet = enqueuer = probe = None
    try:
        began = time.monotonic()
        formation.create(tuned=not args.default_timeouts)
        primary = formation.primary()
        deploy(formation, primary)
        sync = formation.autoctl("show", "settings", "--pgdata", str(root / "monitor"),
                                 check=False).stdout
        setup_s = time.monotonic() - began
        multi = formation.multi_host()
        logdir = root / "logs"
        enqueuer = Enqueuer(multi, args.rate)
        enqueuer.start()
        probe = Probe(multi)
        probe.start()
        fleet = Fleet(multi, logdir, argparse.Namespace(
            workers=args.workers, concurrency=args.concurrency, lease_timeout=args.lease_timeout))
        fleet.top_up()

        failovers: list[dict] = []
        lost_steps: set = set()
        lost_done: set = set()
        before_steps: dict = {}
        for k in range(args.failovers):
            if k:  # the node killed last time rejoins as a standby first
                formation.start(failovers[-1]["killed"])
                formation.wait_states(timeout=300)
            primary = formation.primary()
            goal = count_succeeded(multi) + args.after
            while count_succeeded(formation.dsn(primary)) < goal:
                fleet.top_up()
                time.sleep(0.05)
            # what the primary has committed just before it dies (a commit is visible to other
            # sessions only once a synchronous standby has it)
            with psycopg.connect(formation.dsn(primary), autocommit=True) as conn:
                steps = {(w, s): o for w, s, o in conn.execute(
                    "select workflow_id, step_id, output from durable.steps").fetchall()}
                done = {w for (w,) in conn.execute(
                    "select id from durable.workflows where status = 'succeeded'").fetchall()}
            wall = time.time()
            killed_at = time.monotonic()
            formation.kill(primary)
            first = probe.first_write_after(killed_at, formation.port_of(primary))
            new_primary = None
            if first is not None:
                for _ in range(600):
                    try:
                        st = formation.states()
                        new_primary = next((n for n, (r, _) in st.items()
                                            if r in ("wait_primary", "primary")
                                            and n != primary), None)
                    except psycopg.OperationalError:
                        pass
                    if new_primary:
                        break
                    time.sleep(0.1)
            # check now, on the new primary, what was committed on the old one
            sync_now = None
            if new_primary:
                with psycopg.connect(formation.dsn(new_primary), autocommit=True) as conn:
                    sync_now = conn.execute("show synchronous_standby_names").fetchone()[0]
                    after = {(w, s): o for w, s, o in conn.execute(
                        "select workflow_id, step_id, output from durable.steps").fetchall()}
                    now_done = {w for (w,) in conn.execute(
                        "select id from durable.workflows where status = 'succeeded'")}
                lost_steps |= {key for key, o in steps.items() if after.get(key) != o}
                lost_done |= done - now_done
            # the new primary starts as wait_primary, committing without a synchronous
            # standby; with a third node it has one again once that node follows it
            sync_after = None
            if new_primary and args.nodes > 2:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    with psycopg.connect(formation.dsn(new_primary), autocommit=True) as conn:
                        names = conn.execute("show synchronous_standby_names").fetchone()[0]
                    if names:
                        sync_after = (time.monotonic() - first, names)
                        break
                    time.sleep(0.05)
            before_steps.update(steps)
            failovers.append({
                "killed": primary, "new": new_primary, "wall": wall,
                "seconds": None if first is None else first - killed_at,
                "steps": len(steps), "done": len(done),
                "events": formation.events(wall - 1),
            })
            print(f"auto-failover: #{k + 1} killed {primary} (node and postgres, SIGKILL) with "
                  f"{len(steps)} steps and {len(done)} workflows committed; first write on "
                  f"{new_primary} after "
                  + ("never" if first is None else f"{first - killed_at:.2f} s")
                  + f"; its synchronous_standby_names then: '{sync_now}'"
                  + ("" if sync_after is None else
                     f", '{sync_after[1]}' {sync_after[0]:.2f} s later"), flush=True)
            if first is None:
                break
        # more load on the last primary, then drain
        if failovers and failovers[-1]["new"]:
            goal = count_succeeded(multi) + args.after
            while count_succeeded(multi) < goal:
                fleet.top_up()
                time.sleep(0.05)
        enqueuer.halt.set()
        enqueuer.join()
        probe.halt.set()
        probe.join()
        deadline = time.monotonic() + args.drain_timeout
        with psycopg.connect(multi, autocommit=True) as conn:
            while conn.execute("select count(*) from durable.workflows where status not in "
                               "('succeeded', 'failed', 'cancelled')").fetchone()[0]:
                if time.monotonic() > deadline:
                    break
                fleet.top_up()
                time.sleep(0.2)
        fleet.stop()
        with psycopg.connect(multi, autocommit=True) as conn:
            rows = conn.execute("select id, status, (input->>0)::int, output "
                                "from durable.workflows").fetchall()
            after_steps = {(w, s): o for w, s, o in conn.execute(
                "select workflow_id, step_id, output from durable.steps").fetchall()}
            effects = conn.execute("select workflow_id, step_id, count(*) from "
                                   "chaos.side_effects group by 1, 2").fetchall()
            sync_names = conn.execute("show synchronous_standby_names").fetchone()[0]
        acked = enqueuer.acked
        status = {i: s for i, s, _, _ in rows}
        wrong = [i for i, s, n, o in rows if s == "succeeded" and o != expected_output(n)]
        answered = acknowledged_by_log(logdir)
        lost_answered = [k for k in answered if k not in after_steps]
        lost_steps |= {key for key, o in before_steps.items() if after_steps.get(key) != o}
        transactional = {k for k in after_steps if k[1] % 2 == 0}
        effect_keys = {(w, s) for w, s, _ in effects}
        seconds = [f["seconds"] for f in failovers if f["seconds"] is not None]
        checks = {
            f"{args.failovers} automatic failover(s), each to another node":
                len(seconds) == args.failovers
                and all(f["new"] and f["new"] != f["killed"] for f in failovers),
            "every acknowledged workflow succeeded":
                all(status.get(i) == "succeeded" for i in acked),
            "outputs right": not wrong,
            "all steps recorded once": len(after_steps) == STEPS * len(acked)
                                       and len(rows) == len(acked),
            "nothing committed before a failover lost": not lost_steps and not lost_done,
            "every checkpoint a worker had the answer of kept": not lost_answered,
            "side effects exactly once": all(c == 1 for _, _, c in effects)
                                         and effect_keys == transactional,
        }
        for i, f in enumerate(failovers):
            print(f"auto-failover: events of failover #{i + 1} (monitor):")
            for line in f["events"]:
                print(f"    {line}")
        print(f"auto-failover: formation of {args.nodes} data nodes + monitor set up and durable "
              f"deployed in {setup_s:.1f} s; "
              + ("tuned timeouts" if not args.default_timeouts else "default timeouts"))
        print("auto-failover: settings:\n    " + "\n    ".join(sync.strip().splitlines()))
        print(f"auto-failover: after the run synchronous_standby_names = '{sync_names}'")
        print(f"auto-failover: {len(acked)} workflows enqueued ({args.rate:g}/s), "
              f"{args.workers} workers x {args.concurrency}, worker starts {fleet.started}; "
              f"lost steps {len(lost_steps)}, lost finished workflows {len(lost_done)}, "
              f"answered checkpoints {len(answered)} (lost {len(lost_answered)}), "
              f"wrong outputs {len(wrong)}")
        if seconds:
            print("auto-failover: kill to first write on the new primary: "
                  + ", ".join(f"{s:.2f}" for s in seconds)
                  + f" s (median {statistics.median(seconds):.2f} s; 2 shared cores)")
        for name, passed in checks.items():
            print(f"  {'ok  ' if passed else 'FAIL'} {name}")
        return 0 if all(checks.values()) else 1
    finally:
        for thread in (enqueuer, probe):
            if thread is not None:
                thread.halt.set()
        if fleet is not None:
            fleet.stop()
        formation.stop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
