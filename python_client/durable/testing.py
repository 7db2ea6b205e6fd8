"""Testing your workflows with pytest: a fresh database per test, an in-process worker that runs
until the queues are idle, and crashes at a chosen step to test recovery.

The plugin is registered by an entry point (pytest11) when durable is installed; without it,
put `pytest_plugins = ["durable.testing"]` in your conftest.py. Settings (pytest.ini,
pyproject's [tool.pytest.ini_options], or the command line):

    durable_app = "orders:app"     the Durable app the durable_app fixture points at the
                                   test's database (module:attribute, imported from rootdir)
    durable_deploy = "auto"        how the template is deployed: psql (-f sql/durable.sql,
                                   one transaction, about a second), sqitch (sqitch deploy,
                                   change by change, the source of truth: about 20 times
                                   slower), auto (psql when sql/durable.sql and psql are
                                   there, else sqitch)
    --durable-admin-dsn DSN        a superuser login's DSN on the test server (default
                                   $DURABLE_TEST_ADMIN_DSN, else libpq's defaults with
                                   dbname=postgres): it creates and drops the databases, and
                                   the pinned clock of crash recovery needs a superuser
    --durable-project DIR          the folder holding sqitch.plan (default: found from the
                                   working directory, else the repository durable is
                                   installed from)

Fixtures:
    durable_template      (session) a database deployed once per session (durable_deploy:
                          psql -f sql/durable.sql, or sqitch deploy), plus the SQL
                          of the durable_template_sql fixture (override it to add your tables);
                          its DSN. Dropped at the end of the session.
    durable_dsn           a fresh database per test, created from that template (CREATE
                          DATABASE ... TEMPLATE: a file copy, no deploy); dropped after it.
    durable_app           the app named by durable_app, pointed at durable_dsn for the test.
    durable_worker        a LocalWorker of durable_app.

    def test_order_ships(durable_app, durable_worker):
        handle = durable_app.enqueue(orders.order, {"order_id": "1"})
        durable_worker.run_until_idle()
        assert handle.result(timeout=0) == {...}

LocalWorker runs workflows in the test's own thread, one at a time, through the same code a
worker process runs (durable.execution.Run: claim, replay, checkpoints, complete or fail; the
SQL decides as it does for any worker), until a claim finds nothing runnable. A breakpoint in
a step stops the test there. crash_at(step) makes it die at a step as a killed worker process
would (no fail, no release: the run stays `running`, its lease held by a worker that no longer
heartbeats), and the next run_until_idle is a new worker that finds that lease expired and
resumes the run from its last checkpoint, as durable.claim does after a real crash. The lease
expires by moving the SQL's clock, not by waiting: the worker pins durable.fake_now (a
superuser session's setting, README "Tests") past the dead worker's lease. advance(seconds)
moves the same clock, for sleeps, timeouts, delays and backoffs.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import shutil
import subprocess
import sys
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from . import db, sqitch
from .app import Durable, StepDef
from .errors import DurableError, Stopped
from .execution import Run
from .worker import _default_queues

WHEN = ("before", "after")
# the LocalWorker's lease timeout (seconds): runs in a test never lose it while they run;
# recovery after a crash moves the clock past it instead of waiting
LEASE_TIMEOUT = 600.0
MAX_RUNS = 10_000


class Crash(Stopped):
    """Raised into a run at the step crash_at named: the worker dies there (a BaseException,
    like Stopped: the workflow's code cannot catch it for good, and nothing is recorded)."""


@dataclass
class CrashPlan:
    """Where a LocalWorker dies: the step (its name, or its position from 0), before it runs or
    after it ran but before its checkpoint, in the run workflow_id (None: the first run that
    gets there); times: how many runs it kills (then it is spent)."""

    step: str | int
    when: str = "before"
    workflow_id: str | None = None
    times: int = 1

    def matches(self, workflow_id: str, position: int, name: str) -> bool:
        """Whether the step at position, named name, of workflow_id is where to die."""
        if self.times <= 0 or (self.workflow_id is not None and self.workflow_id != workflow_id):
            return False
        return position == self.step if isinstance(self.step, int) else name == self.step


@dataclass
class RunReport:
    """What one run_until_idle did: each run it executed with how it ended (succeeded, pending:
    a retry is scheduled, failed, waiting: a wait parked it, stopped: cancelled or lease
    lost, crashed: crash_at), in order, and the runs it crashed."""

    outcomes: list[tuple[str, str]] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)

    @property
    def ran(self) -> int:
        """How many executions there were."""
        return len(self.outcomes)

    def outcome(self, workflow_id: str) -> str | None:
        """How the last execution of workflow_id here ended (None: it did not run)."""
        for wid, outcome in reversed(self.outcomes):
            if wid == workflow_id:
                return outcome
        return None


class _LocalRun(Run):
    """A Run that dies where the LocalWorker's crash plans say (see CrashPlan)."""

    def __init__(self, app: Durable, claimed: db.Claimed, plans: list[CrashPlan]):
        super().__init__(app, claimed)
        self.plans = plans
        self.crashed_at: tuple[int, str, str] | None = None

    def _plan(self, name: str, kinds: tuple[str, ...]) -> CrashPlan | None:
        position = self.next_step
        if position in self.recorded or self.crashed_at is not None:
            return None  # a replay: the step does not run again
        for plan in self.plans:
            if plan.when in kinds and plan.matches(self.workflow_id, position, name):
                plan.times -= 1
                return plan
        return None

    def _die(self, position: int, name: str, when: str) -> None:
        self.crashed_at = (position, name, when)
        self.interrupt(f"crash_at step {position} ({name}), {when} it")
        self.stop_raised = True
        raise Crash(f"workflow {self.workflow_id}: the worker died at step {position} ({name}), "
                    f"{when} it ran")

    def step(self, definition: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        plan = self._plan(definition.name, WHEN)
        if plan is None:
            return super().step(definition, args, kwargs)
        position = self.next_step
        if plan.when == "before":
            self._die(position, definition.name, "before")
        original = definition.fn

        def ran_then_die(*a: Any, **k: Any) -> Any:
            original(*a, **k)
            self._die(position, definition.name, "after")

        return super().step(dataclasses.replace(definition, fn=ran_then_die), args, kwargs)

    def call(self, name: str, fn: Any, *args: Any, parks: bool = False, **kwargs: Any) -> Any:
        # the steps the SQL records itself (waits, send, set_event, children): before only
        if self._plan(name, ("before",)) is not None:
            self._die(self.next_step, name, "before")
        return super().call(name, fn, *args, parks=parks, **kwargs)


class LocalWorker:
    """A worker that runs app's workflows in the calling thread, until nothing is runnable.

    queues: the queues it serves (default: those of the app's workflows); dsn: default the
    app's. It registers as a worker of the app's workflows and version, as a worker process
    does, so it claims only those. See the module's doc for crash_at and the clock."""

    def __init__(self, app: Durable, *, queues: list[str] | None = None,
                 dsn: str | None = None, lease_timeout: float = LEASE_TIMEOUT):
        self.app = app
        self.queues = list(queues) if queues else _default_queues(app)
        self.dsn = dsn if dsn is not None else app.dsn
        self.lease_timeout = lease_timeout
        self.plans: list[CrashPlan] = []
        self.worker_id: str | None = None
        self.offset: timedelta | None = None  # the pinned clock's lead on real time; None: not pinned
        self._lease = timedelta(seconds=lease_timeout)  # the lease timeout in effect
        self._dead: list[str] = []  # workers that crashed, their leases not yet expired
        self._conn: psycopg.Connection | None = None

    # -- the clock -------------------------------------------------------------------------------

    def now(self) -> datetime | None:
        """The time the SQL reads on this worker's connection now: real time plus the offset
        the clock was moved by; None while the clock is not pinned (real time)."""
        if self.offset is None:
            return None
        return datetime.now(timezone.utc) + self.offset

    def advance(self, seconds: float | timedelta) -> None:
        """Move this worker's clock (durable.fake_now on its connection) forward: sleeps,
        timeouts, delays and retry backoffs that many seconds ahead become due to it. Needs a
        superuser connection (DU009, FakeClock, otherwise)."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if step < timedelta(0):
            raise ValueError("the clock only moves forward")
        self.offset = (self.offset or timedelta(0)) + step

    def _pin(self, conn: psycopg.Connection) -> None:
        at = self.now()
        if at is not None:
            conn.execute("select pg_catalog.set_config('durable.fake_now', %s, false)",
                         [at.isoformat()])

    # -- crashes ---------------------------------------------------------------------------------

    def crash_at(self, step: str | int, *, when: str = "before", workflow_id: str | None = None,
                 times: int = 1) -> CrashPlan:
        """Die at step (a step's name, or its position from 0) of the next run that reaches it
        (of workflow_id only, when given), times times: "before" it runs, or "after" it ran
        and before its checkpoint (so it runs again on recovery; a transactional step's writes
        roll back with it). Waits and the steps the SQL records itself (sleep, recv, send, ...)
        crash "before" only. A replayed step never crashes. run_until_idle returns at the
        crash; the next one is a new worker that resumes the run."""
        if when not in WHEN:
            raise ValueError(f"when must be one of {WHEN}, not {when!r}")
        if times < 1:
            raise ValueError("times must be 1 or more")
        plan = CrashPlan(step, when, workflow_id, times)
        self.plans.append(plan)
        return plan

    # -- running ---------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = db.connect(self.dsn, application_name="durable local worker")
            db.check_schema(conn)
            self._conn = conn
            self.worker_id = None
        conn = self._conn
        if self._dead:
            # a new worker: the dead one's lease expires when the clock passes it
            self.advance(self._lease + timedelta(seconds=1))
            self._dead.clear()
        if self.worker_id is None:
            self.worker_id = f"local-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            self._pin(conn)
            self._lease = db.register(conn, self.worker_id, self.app.registrations(),
                                      self.app.version, self.lease_timeout)
        return conn

    def run_until_idle(self, *, max_runs: int = MAX_RUNS) -> RunReport:
        """Claim and run workflows one at a time until a claim finds nothing runnable (what
        waits, or is scheduled later than the clock, stays), or the worker crashes (crash_at);
        returns what ran. RuntimeError after max_runs executions (a workflow that never
        settles)."""
        report = RunReport()
        if self.app.dsn is None:
            self.app.dsn = self.dsn  # app.enqueue in a step goes to the same database
        while True:
            conn = self._connect()
            self._pin(conn)
            assert self.worker_id is not None  # registered by _connect
            claimed = db.claim(conn, self.worker_id, self.queues, 1, self.lease_timeout)
            if not claimed:
                return report
            if report.ran >= max_runs:
                raise RuntimeError(f"run_until_idle: {max_runs} executions and the queues "
                                   f"{self.queues} are still not idle")
            run = _LocalRun(self.app, claimed[0], self.plans)
            outcome = run.execute(conn)
            self.plans = [p for p in self.plans if p.times > 0]
            if run.crashed_at is not None:
                report.outcomes.append((run.workflow_id, "crashed"))
                report.crashed.append(run.workflow_id)
                self._die()
                return report
            report.outcomes.append((run.workflow_id, outcome))

    def _die(self) -> None:
        """This worker is dead: its connection goes without a word, its leases stay until they
        expire."""
        if self.worker_id is not None:
            self._dead.append(self.worker_id)
        self.worker_id = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        """Close the connection (a live worker's leases are handed back first)."""
        if self._conn is not None and not self._conn.closed and self.worker_id is not None:
            try:
                db.release(self._conn, self.worker_id, None)
            except (psycopg.Error, DurableError):
                pass
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.worker_id = None


_workers: weakref.WeakKeyDictionary[Durable, LocalWorker] = weakref.WeakKeyDictionary()


def worker_for(app: Durable) -> LocalWorker:
    """The LocalWorker of app (one per app and DSN, kept between calls: its crashes and clock
    carry over)."""
    worker = _workers.get(app)
    if worker is None or worker.dsn != app.dsn:
        if worker is not None:
            worker.close()
        worker = _workers[app] = LocalWorker(app)
    return worker


def run_until_idle(app: Durable, *, max_runs: int = MAX_RUNS) -> RunReport:
    """worker_for(app).run_until_idle(): run app's workflows in this thread until idle."""
    return worker_for(app).run_until_idle(max_runs=max_runs)


def crash_at(app: Durable, step: str | int, *, when: str = "before",
             workflow_id: str | None = None, times: int = 1) -> CrashPlan:
    """worker_for(app).crash_at(...): the worker dies at that step (see LocalWorker)."""
    return worker_for(app).crash_at(step, when=when, workflow_id=workflow_id, times=times)


# -- databases -----------------------------------------------------------------------------------


def create_database(admin_dsn: str, name: str, template: str | None = None) -> str:
    """CREATE DATABASE name (from template); its DSN (admin_dsn's server and login)."""
    query = sql.SQL("create database {}").format(sql.Identifier(name))
    if template is not None:
        query += sql.SQL(" template {}").format(sql.Identifier(template))
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(query)
    return make_conninfo(admin_dsn, dbname=name)


def drop_database(admin_dsn: str, name: str) -> None:
    """DROP DATABASE name, its sessions terminated first (WITH (FORCE))."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(
            sql.Identifier(name)))


DEPLOY_WAYS = ("auto", "psql", "sqitch")


def deploy(dsn: str, project: Path | None = None, how: str = "auto") -> str:
    """Deploy the durable schema into dsn's database from the project folder (the one holding
    sqitch.plan): "psql" runs `psql -f sql/durable.sql` (the whole plan as one file, one
    transaction; CI checks it gives the catalog `sqitch deploy` gives), "sqitch" runs `sqitch
    deploy` (the source of truth, change by change: about 20 times slower), "auto" the first
    whose tool and file are there. Returns the way taken; RuntimeError with the tool's output
    when it fails."""
    if how not in DEPLOY_WAYS:
        raise ValueError(f"durable_deploy must be one of {DEPLOY_WAYS}, not {how!r}")
    folder = sqitch.find_project(project)
    script = folder / "sql" / "durable.sql"
    env = dict(os.environ)
    if how in ("auto", "psql") and shutil.which("psql") and script.is_file():
        command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), dsn]
        how = "psql"
    elif how in ("auto", "sqitch") and shutil.which("sqitch"):
        target, env = sqitch.target_and_env(dsn)
        command = ["sqitch", "deploy", target]
        how = "sqitch"
    else:
        raise RuntimeError(f"cannot deploy the durable schema ({how}): psql with {script}, or "
                           f"sqitch, is needed ({sqitch.INSTALL_HINT})")
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed:\n{done.stdout}{done.stderr}")
    return how


# -- the pytest plugin ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("durable", "durable workflows (durable.testing)")
    group.addoption("--durable-admin-dsn", dest="durable_admin_dsn", default=None,
                    help="a superuser DSN on the test server, which creates the test databases "
                         "(default $DURABLE_TEST_ADMIN_DSN, else dbname=postgres)")
    group.addoption("--durable-project", dest="durable_project", default=None,
                    help="the folder holding sqitch.plan (default: found from the working "
                         "directory or the installed package)")
    parser.addini("durable_app", "the Durable app of the durable_app fixture, module:attribute",
                  default="")
    parser.addini("durable_deploy", "how the template database is deployed: auto (psql -f "
                  "sql/durable.sql when there, else sqitch deploy), psql or sqitch",
                  default="auto")


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def durable_admin_dsn(pytestconfig: pytest.Config) -> str:
    """The DSN that creates and drops the test databases (--durable-admin-dsn)."""
    return (pytestconfig.getoption("durable_admin_dsn")
            or os.environ.get("DURABLE_TEST_ADMIN_DSN") or "dbname=postgres")


@pytest.fixture(scope="session")
def durable_template_sql() -> str | None:
    """SQL run in the template database after the durable schema is deployed (None: none).
    Override it in your conftest.py to add your own tables: every test's database has them."""
    return None


@pytest.fixture(scope="session")
def durable_template(pytestconfig: pytest.Config, durable_admin_dsn: str,
                     durable_template_sql: str | None) -> Iterator[str]:
    """A database with the durable schema deployed (and durable_template_sql run), made once
    per session, dropped at its end; its DSN. Tests get copies of it (durable_dsn)."""
    name = _unique("durable_test_template")
    dsn = create_database(durable_admin_dsn, name)
    try:
        project = pytestconfig.getoption("durable_project")
        deploy(dsn, Path(project) if project else None,
               str(pytestconfig.getini("durable_deploy")))
        if durable_template_sql:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(durable_template_sql)
        yield dsn
    finally:
        drop_database(durable_admin_dsn, name)


@pytest.fixture
def durable_dsn(durable_admin_dsn: str, durable_template: str) -> Iterator[str]:
    """A fresh database for this test, a copy of durable_template; dropped after the test."""
    template = conninfo_to_dict(durable_template)["dbname"]
    name = _unique("durable_test")
    dsn = create_database(durable_admin_dsn, name, template=str(template))
    try:
        yield dsn
    finally:
        drop_database(durable_admin_dsn, name)


def load_app(spec: str, root: Path | None = None) -> Durable:
    """The Durable app module:attribute (attribute default "app"), imported with root on
    sys.path."""
    module_name, _, attr = spec.partition(":")
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    app = getattr(importlib.import_module(module_name), attr or "app", None)
    if not isinstance(app, Durable):
        raise TypeError(f"durable_app = {spec!r} is not a durable.Durable app")
    return app


@pytest.fixture
def durable_app(pytestconfig: pytest.Config, durable_dsn: str) -> Iterator[Durable]:
    """The app named by the durable_app setting, pointed at this test's database (its DSN and
    connections restored after)."""
    spec = pytestconfig.getini("durable_app")
    if not spec:
        pytest.fail("set durable_app = \"module:app\" in your pytest settings, or override the "
                    "durable_app fixture", pytrace=False)
    app = load_app(str(spec), pytestconfig.rootpath)
    saved = app.dsn
    app.close()
    app.dsn = durable_dsn
    try:
        yield app
    finally:
        worker = _workers.pop(app, None)
        if worker is not None:
            worker.close()
        app.close()
        app.dsn = saved


@pytest.fixture
def durable_worker(durable_app: Durable) -> Iterator[LocalWorker]:
    """The LocalWorker of durable_app (the one run_until_idle(durable_app) uses)."""
    worker = worker_for(durable_app)
    try:
        yield worker
    finally:
        worker.close()
