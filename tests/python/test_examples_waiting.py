"""The waiting examples end to end, with real `durable worker` processes: examples/signup.py
(a message wait with a timeout and a durable sleep) and examples/etl_fanout.py (a parent
awaiting its children with one wait). Each runs on a worker with one slot, which works only
because a waiting run holds none, and loses its worker to a SIGKILL while it waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

import durable
from conftest import LEASE, ROOT, recorded_steps, status_of, wait_for

EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))
import etl_fanout


class ExampleWorker:
    """A real `durable worker MODULE:app --path examples` process."""

    def __init__(self, dsn: str, module: str, queue: str, log: Path, concurrency: int = 1):
        self.worker_id = f"example-{uuid.uuid4().hex[:8]}"
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in kill()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", f"{module}:app", "--path", str(EXAMPLES),
             "--queues", queue, "--concurrency", str(concurrency), "--lease-timeout", str(LEASE),
             "--poll-interval", "0.2", "--worker-id", self.worker_id],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT,
            env=dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1"))

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
def examples_db(dsn: str, conn: psycopg.Connection) -> str:
    """The test database with the examples' tables and queues (examples/schema.sql)."""
    conn.execute((EXAMPLES / "schema.sql").read_text())
    return dsn


@pytest.fixture
def start_example_worker(examples_db: str, conn: psycopg.Connection, tmp_path: Path
                         ) -> Iterator[Callable[[str, str], ExampleWorker]]:
    """start(module, queue): a registered example worker with one slot, SIGKILLed at the end."""
    started: list[ExampleWorker] = []

    def start(module: str, queue: str) -> ExampleWorker:
        worker = ExampleWorker(examples_db, module, queue, tmp_path / f"{module}-{len(started)}.log")
        started.append(worker)
        wait_for(lambda: worker.proc.poll() is not None or conn.execute(
            "select 1 from durable.worker_status where id = %s", [worker.worker_id]).fetchone(),
            what=f"worker {worker.worker_id} to register")
        assert worker.proc.poll() is None, worker.log()
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def client(examples_db: str) -> Iterator[durable.Durable]:
    """A client app of the examples' database (workflows named, not imported)."""
    app = durable.Durable(examples_db)
    yield app
    app.close()


def waiting_for(conn: psycopg.Connection, workflow_id: str) -> str | None:
    """durable.runs.waiting_for of a waiting run, else None."""
    row = conn.execute("select waiting_for from durable.runs where id = %s and status = 'waiting'",
                       [workflow_id]).fetchone()
    return row and row[0]


def outbox(conn: psycopg.Connection, email: str) -> list[tuple[str, str]]:
    """The mails the pretend provider sent to email: (idempotency key, subject), in order."""
    return conn.execute("select idempotency_key, subject from signup.outbox where recipient = %s"
                        " order by id", [email]).fetchall()


def test_signup_confirmed_and_expired_runs_survive_a_killed_worker(
        start_example_worker, client: durable.Durable, conn: psycopg.Connection) -> None:
    tag = uuid.uuid4().hex[:8]
    ada, bob = f"ada-{tag}@example.com", f"bob-{tag}@example.com"
    worker = start_example_worker("signup", "signup")
    # ada confirms (an hour to do so), gets her follow-up one second after; bob never confirms
    ada_run = client.enqueue("signup", ada, "Ada", 3600, 1, workflow_id=f"signup-{ada}",
                             queue="signup")
    bob_run = client.enqueue("signup", bob, "Bob", 1, 1, workflow_id=f"signup-{bob}",
                             queue="signup")

    # ada waits for her confirmation; the only slot is free for bob meanwhile
    assert wait_for(lambda: waiting_for(conn, ada_run.workflow_id),
                    what="ada's run to wait") .startswith("message on topic confirm")
    assert conn.execute("select status from signup.users where email = %s",
                        [ada]).fetchone() == ("unconfirmed",)
    # the worker dies while ada waits; the wait is a row, not a thread: nothing is lost
    worker.kill()
    start_example_worker("signup", "signup")
    first = client.send(ada_run.workflow_id, {"clicked": True}, topic="confirm",
                        idempotency_key=f"confirm-{ada}")
    second = client.send(ada_run.workflow_id, {"clicked": True}, topic="confirm",
                         idempotency_key=f"confirm-{ada}")  # a second click sends nothing

    assert ada_run.result(timeout=60)["status"] == "confirmed"
    assert bob_run.result(timeout=60)["status"] == "expired"
    assert first == second
    assert conn.execute("select email, status, confirmed_at is not null from signup.users"
                        " where email in (%s, %s) order by email", [ada, bob]).fetchall() == [
        (ada, "confirmed", True), (bob, "expired", False)]
    # each mail once, under its step's idempotency key
    assert outbox(conn, ada) == [
        (f"signup-{ada}:1", "Welcome, Ada: please confirm your address"),
        (f"signup-{ada}:5", "Ada, how are your first days?")]
    assert outbox(conn, bob) == [(f"signup-{bob}:1", "Welcome, Bob: please confirm your address")]
    assert [s["name"] for s in recorded_steps(conn, ada_run.workflow_id)] == [
        "create_user", "send_welcome", "durable.recv", "confirm_user", "durable.sleep",
        "send_follow_up"]
    bob_steps = recorded_steps(conn, bob_run.workflow_id)
    assert [s["name"] for s in bob_steps] == [
        "create_user", "send_welcome", "durable.recv", "expire_user"]
    assert bob_steps[2]["output"] == {"timed_out": True}
    # the confirmation was consumed once, by ada's recv step (position 2)
    assert conn.execute("select consumed_step from durable.run_messages where workflow_id = %s",
                        [ada_run.workflow_id]).fetchall() == [(2,)]
    assert conn.execute("select kind, outcome from durable.run_waits where workflow_id = %s"
                        " order by step_id", [ada_run.workflow_id]).fetchall() == [
        ("message", "ready"), ("sleep", "ready")]


def test_etl_fanout_parent_awaits_its_children_with_one_wait_on_one_slot(
        start_example_worker, client: durable.Durable, conn: psycopg.Connection) -> None:
    batch, partitions = f"batch-{uuid.uuid4().hex[:8]}", 12
    worker = start_example_worker("etl_fanout", "etl")
    parent = client.enqueue("etl_batch", batch, partitions, workflow_id=f"etl-{batch}",
                            queue="etl")

    # the parent reaches its wait (a row that stays: the children may all be done before a
    # poll sees it parked); the worker is killed and another takes over
    wait_for(lambda: conn.execute("select 1 from durable.run_waits where workflow_id = %s",
                                  [parent.workflow_id]).fetchone(), what="the parent to wait")
    worker.kill()
    start_example_worker("etl_fanout", "etl")

    assert parent.result(timeout=90) == etl_fanout.expected_totals(batch, partitions)
    children = conn.execute("select id, status, output from durable.runs where parent_id = %s"
                            " order by id", [parent.workflow_id]).fetchall()
    assert [c[0] for c in children] == sorted(f"{parent.workflow_id}-{i}"
                                              for i in range(partitions))
    assert {c[1] for c in children} == {"succeeded"}
    # each partition loaded exactly once, the batch once
    assert conn.execute("select count(*), count(distinct partition) from etl.partition_totals"
                        " where batch = %s", [batch]).fetchone() == (partitions, partitions)
    assert conn.execute("select partitions from etl.batch_totals where batch = %s",
                        [batch]).fetchall() == [(partitions,)]
    # the parent's steps: one start_child per partition, ONE wait for all, the load
    names = [s["name"] for s in recorded_steps(conn, parent.workflow_id)]
    assert names == ["durable.start_child"] * partitions + ["durable.await_children",
                                                            "load_batch"]
    # one wait, and it parked: with one slot the children could not run before it did
    assert conn.execute("select count(*), bool_and(parked_at is not null) from durable.run_waits"
                        " where workflow_id = %s", [parent.workflow_id]).fetchone() == (1, True)
    assert status_of(conn, parent.workflow_id) == "succeeded"
