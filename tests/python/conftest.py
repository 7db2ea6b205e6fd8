"""Fixtures: a fresh database deployed with Sqitch, unique queues, real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

import durable
from durable import sqitch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ADMIN_DSN = os.environ.get("DURABLE_TEST_ADMIN_DSN", "postgresql://root@127.0.0.1:5432/postgres")
LEASE = 2.0  # seconds: short, so that recovery after a SIGKILL takes about that long

sys.path.insert(0, str(HERE))
import durable_testapp


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05,
             what: str = "condition") -> Any:
    """Poll predicate until it returns something truthy; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def dsn() -> Iterator[str]:
    """A fresh database durable_test_py_<unique>, deployed with `sqitch deploy`, dropped after."""
    name = f"durable_test_py_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    test_dsn = make_conninfo(ADMIN_DSN, dbname=name)
    try:
        target, env = sqitch.target_and_env(test_dsn)
        deployed = subprocess.run(["sqitch", "deploy", target], cwd=ROOT, env=env,
                                  capture_output=True, text=True, check=False)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        with psycopg.connect(test_dsn, autocommit=True) as conn:
            conn.execute(durable_testapp.SCHEMA)
        yield test_dsn
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


@pytest.fixture
def conn(dsn: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection for the test's own reads and writes."""
    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


@pytest.fixture
def app(dsn: str) -> Iterator[durable.Durable]:
    """The test app (durable_testapp.app) pointed at the test database."""
    durable_testapp.app.dsn = dsn
    yield durable_testapp.app
    durable_testapp.app.close()


@pytest.fixture
def queue(conn: psycopg.Connection) -> str:
    """A queue of the test's own, so tests never see each other's work."""
    name = f"q-{uuid.uuid4().hex[:10]}"
    conn.execute("select * from durable.set_queue(%s)", [name])
    return name


class WorkerProcess:
    """A real `durable worker` process running durable_testapp.app."""

    def __init__(self, dsn: str, queue: str, log: Path, *, concurrency: int = 2,
                 lease: float = LEASE, grace: float = 10.0, extra: tuple[str, ...] = ()):
        self.dsn = dsn
        self.worker_id = f"test-{uuid.uuid4().hex[:8]}"
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in wait()/kill()
        env = dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "durable_testapp:app", "--path", str(HERE),
             "--queues", queue, "--concurrency", str(concurrency), "--lease-timeout", str(lease),
             "--poll-interval", "0.5", "--grace", str(grace), "--worker-id", self.worker_id,
             *extra],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=HERE,
        )
        self.pid = self.proc.pid

    def wait_ready(self, conn: psycopg.Connection) -> WorkerProcess:
        """Wait until the worker has registered (durable.worker_status shows it)."""
        wait_for(lambda: self.proc.poll() is not None or conn.execute(
            "select 1 from durable.worker_status where id = %s", [self.worker_id]).fetchone(),
            what=f"worker {self.worker_id} to register")
        assert self.proc.poll() is None, self.log()
        return self

    def signal(self, sig: int) -> None:
        """Send a real signal to the process."""
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 15.0) -> int:
        """Wait for the process to exit; its exit status."""
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """SIGKILL, if still running."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()

    def log(self) -> str:
        """What the worker printed so far."""
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker(dsn: str, conn: psycopg.Connection, tmp_path: Path
                 ) -> Iterator[Callable[..., WorkerProcess]]:
    """start_worker(queue, **options): a ready worker process, SIGKILLed at the end if alive."""
    started: list[WorkerProcess] = []

    def start(queue: str, **options: Any) -> WorkerProcess:
        worker = WorkerProcess(dsn, queue, tmp_path / f"worker-{len(started)}.log", **options)
        started.append(worker)
        return worker.wait_ready(conn)

    yield start
    for worker in started:
        worker.kill()


def events(conn: psycopg.Connection, workflow_id: str) -> list[dict]:
    """The testapp.events rows of a workflow, in order."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("select step, phase, pid, detail from testapp.events where workflow_id = %s"
                    " order by id", [workflow_id])
        return cur.fetchall()


def status_of(conn: psycopg.Connection, workflow_id: str) -> str:
    """The workflow's status, from the view durable.runs."""
    return conn.execute("select status from durable.runs where id = %s", [workflow_id]).fetchone()[0]


def recorded_steps(conn: psycopg.Connection, workflow_id: str) -> list[dict]:
    """The view durable.run_steps for a workflow."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("select step_id, name, output, error from durable.run_steps"
                    " where workflow_id = %s order by step_id", [workflow_id])
        return cur.fetchall()
