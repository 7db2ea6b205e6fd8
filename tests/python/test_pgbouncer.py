"""The client and the worker through a real PgBouncer in transaction pooling mode (issue 16).

PgBouncer (Debian's 1.18: no protocol-level prepared statements) is started by the module's
fixture on a port of its own, in front of the test database. Through it every `durable.*` call
works when nothing is prepared (transaction_pooler: psycopg's prepare_threshold=None, the
pipelined calls as unnamed statements) and no session setting is made; LISTEN, which needs a
session, goes to a direct connection string (listen_dsn) or is replaced by polling.

Each worker here is a real `durable worker` process whose connections go through PgBouncer
(--dsn); its steps' side table writes (durable_testapp's events) use DATABASE_URL, direct.
PgBouncer's admin console (SHOW CLIENTS) shows which of the worker's connections came through it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import durable
from conftest import HERE, LEASE, events, recorded_steps, wait_for

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
pytestmark = pytest.mark.skipif(not os.path.exists(PGBOUNCER),
                                reason="pgbouncer is not installed (tests/lib/setup.sh does it)")


def _free_port() -> int:
    wanted = os.environ.get("DURABLE_TEST_PGBOUNCER_PORT")
    if wanted:
        return int(wanted)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bouncer:
    """A PgBouncer process in transaction pooling mode in front of the test database."""

    def __init__(self, dsn: str, folder: Path):
        params = conninfo_to_dict(dsn)
        self.user = str(params.get("user") or os.environ.get("USER", "postgres"))
        self.port = _free_port()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)  # PgBouncer runs as postgres when the tests run as root
        (folder / "users.txt").write_text(f'"{self.user}" ""\n')
        host = params.get("host") or "127.0.0.1"
        (folder / "pgbouncer.ini").write_text(f"""
[databases]
* = host={host} port={params.get("port") or 5432}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
admin_users = {self.user}
pool_mode = transaction
default_pool_size = 20
max_client_conn = 500
logfile = {folder}/pgbouncer.log
""")
        command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "postgres"]  # it refuses to run as root
        with open(folder / "stderr.txt", "wb") as err:
            self.proc = subprocess.Popen(command, stdout=err, stderr=subprocess.STDOUT)
        self.dsn = make_conninfo(dsn, host="127.0.0.1", port=str(self.port))
        wait_for(self._answers, timeout=10, what="pgbouncer to accept connections")

    def _answers(self) -> bool:
        assert self.proc.poll() is None, self.log()
        try:
            with psycopg.connect(self.dsn, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def clients(self) -> list[str]:
        """The application_name of every client connected through PgBouncer (SHOW CLIENTS)."""
        with psycopg.connect(make_conninfo(self.dsn, dbname="pgbouncer"), autocommit=True,
                             cursor_factory=psycopg.ClientCursor) as admin:
            cur = admin.cursor()
            cur.execute("show clients")
            names = [d.name for d in cur.description or []]
            return [dict(zip(names, row))["application_name"] for row in cur.fetchall()]

    def log(self) -> str:
        return "".join(path.read_text(errors="replace") for path in
                       (self.folder / "stderr.txt", self.folder / "pgbouncer.log")
                       if path.exists())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def bouncer(dsn: str) -> Iterator[Bouncer]:
    # not under pytest's tmp folders (0700): PgBouncer runs as postgres when the tests are root
    folder = Path(tempfile.mkdtemp(prefix="durable-pgbouncer-"))
    try:
        b = Bouncer(dsn, folder)
        yield b
        b.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Proc:
    """A `durable worker` process whose connections go through PgBouncer."""

    def __init__(self, direct: str, bouncer: Bouncer, queue: str, log: Path, *extra: str,
                 concurrency: int = 2):
        self.worker_id = f"bouncer-{uuid.uuid4().hex[:8]}"
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in kill()
        env = dict(os.environ, DATABASE_URL=direct, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "--dsn", bouncer.dsn, "worker",
             "durable_testapp:app", "--path", str(HERE), "--queues", queue,
             "--concurrency", str(concurrency), "--lease-timeout", str(LEASE),
             "--poll-interval", "0.3", "--grace", "5", "--worker-id", self.worker_id,
             "--transaction-pooler", *extra],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=HERE)
        self.pid = self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()


@pytest.fixture
def start(dsn: str, conn: psycopg.Connection, bouncer: Bouncer, tmp_path: Path
          ) -> Iterator[Callable[..., Proc]]:
    """start(queue, *extra options, concurrency=2): a registered worker through PgBouncer."""
    started: list[Proc] = []

    def go(queue: str, *extra: str, concurrency: int = 2) -> Proc:
        proc = Proc(dsn, bouncer, queue, tmp_path / f"worker-{len(started)}.log", *extra,
                    concurrency=concurrency)
        started.append(proc)
        wait_for(lambda: proc.proc.poll() is not None or conn.execute(
            "select 1 from durable.worker_status where id = %s", [proc.worker_id]).fetchone(),
            what=f"worker {proc.worker_id} to register")
        assert proc.proc.poll() is None, proc.log()
        return proc

    yield go
    for proc in started:
        proc.kill()


@pytest.fixture
def pooled_app(bouncer: Bouncer) -> Iterator[durable.Durable]:
    """A client app through PgBouncer (transaction_pooler, no listen_dsn: it polls)."""
    app = durable.Durable(bouncer.dsn, transaction_pooler=True)
    yield app
    app.close()


def _script(app: durable.Durable, queue: str, *steps: dict[str, Any]) -> durable.WorkflowHandle:
    return app.enqueue("script", {"steps": list(steps)}, queue=queue)


def _status(conn: psycopg.Connection, wid: str) -> str | None:
    row = conn.execute("select status from durable.runs where id = %s and status in"
                       " ('succeeded', 'failed', 'cancelled')", [wid]).fetchone()
    return row[0] if row else None


def _direct(conn: psycopg.Connection, worker_id: str) -> list[str]:
    """application_names of connections made straight to Postgres (not through PgBouncer,
    which sets the name of a server connection only while a client uses it) by worker_id."""
    return [r[0] for r in conn.execute(
        "select application_name from pg_stat_activity where datname = current_database()"
        " and application_name like %s and query ilike 'listen%%'", [f"%{worker_id}"]).fetchall()]


def test_client_and_worker_calls_work_through_pgbouncer(pooled_app, conn, queue, start,
                                                        bouncer):
    """Forty workflows of three kinds of steps (plain, transactional, failing once and retried)
    through PgBouncer: every call (enqueue, claim, checkpoint pipelined as an unnamed
    statement, step_failed, complete_and_claim, heartbeat, result) is answered, more than
    psycopg's prepare threshold times on shared server connections, and the results are right;
    the worker's connections are PgBouncer's clients."""
    worker = start(queue, concurrency=4)
    plan = ({"kind": "plain"}, {"kind": "txn"}, {"kind": "flaky", "fail": 1}, {"kind": "plain"})
    handles = [_script(pooled_app, queue, *plan) for _ in range(40)]
    outputs = [h.result(timeout=60) for h in handles]
    names = bouncer.clients()
    assert [[o["step"] for o in out[:2]] for out in outputs] == [[0, 1]] * 40
    assert all(out[2] == {"tries": 2} for out in outputs)
    ledger = conn.execute("select count(*), count(distinct workflow_id) from testapp.ledger"
                          " where workflow_id = any(%s)",
                          [[h.workflow_id for h in handles]]).fetchone()
    assert ledger == (40, 40)  # each transactional step wrote once
    assert f"durable main {worker.worker_id}" in names
    assert any(n == f"durable slot {worker.worker_id}" for n in names)
    assert "durable client" in names
    assert "prepared statement" not in worker.log()


def test_without_listen_dsn_the_worker_and_the_client_poll(pooled_app, conn, queue, start,
                                                           bouncer):
    """With no direct connection string, nothing LISTENs (a LISTEN through a transaction pooler
    would be heard on whichever server connection ran it): the worker finds work by polling,
    and result() polls durable.watch."""
    worker = start(queue)
    handle = _script(pooled_app, queue, {"kind": "plain"})
    assert handle.result(timeout=30)[0]["step"] == 0
    assert _direct(conn, worker.worker_id) == []
    assert f"durable listener {worker.worker_id}" not in bouncer.clients()
    assert "durable client listener" not in bouncer.clients()


def test_listen_dsn_gives_the_listeners_a_direct_session(dsn, conn, queue, start, bouncer):
    """--listen-dsn (and Durable(listen_dsn=)): the worker's listener and the client's result
    listener connect straight to Postgres and LISTEN there, while every other call goes through
    PgBouncer."""
    worker = start(queue, "--listen-dsn", dsn)
    wait_for(lambda: _direct(conn, worker.worker_id), what="the worker's listener")
    app = durable.Durable(bouncer.dsn, transaction_pooler=True, listen_dsn=dsn)
    try:
        handle = _script(app, queue, {"kind": "plain", "sleep": 0.5})
        assert handle.result(timeout=30)[0]["step"] == 0
        [listener] = app._listener_conns
        assert listener.info.port == int(conninfo_to_dict(dsn).get("port") or 5432)
        assert conn.execute(
            "select application_name, query from pg_stat_activity where pid = %s",
            [listener.info.backend_pid]).fetchone() == ("durable client listener", "unlisten *")
        # (it listened, then stopped when the result came)
    finally:
        app.close()
    assert f"durable listener {worker.worker_id}" not in bouncer.clients()


def test_sigkill_inside_a_transactional_step_through_pgbouncer(pooled_app, conn, queue, start):
    """A worker killed with SIGKILL inside a transactional step, its connections all through
    PgBouncer: the step's transaction dies with it (its ledger row is not written), and another
    worker resumes the run after the lease expires, replays step 0, runs the transactional step
    again (writing once) and finishes."""
    wid = _script(pooled_app, queue, {"kind": "plain"},
                  {"kind": "txn", "sleep": 30, "first_only": True}, {"kind": "plain"}).workflow_id
    first = start(queue, "--connections", "2", concurrency=4)
    wait_for(lambda: any(e["step"] == 1 and e["pid"] == first.pid
                         for e in events(conn, wid)), what="the transactional step to start")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(10)
    second = start(queue, "--connections", "2", concurrency=4)
    assert wait_for(lambda: _status(conn, wid), timeout=LEASE + 20) == "succeeded"
    starts = [(e["step"], e["pid"]) for e in events(conn, wid) if e["phase"] == "start"]
    assert starts == [(0, first.pid), (1, first.pid), (1, second.pid), (2, second.pid)]
    ledger = [r[0] for r in conn.execute(
        "select pid from testapp.ledger where workflow_id = %s", [wid]).fetchall()]
    assert ledger == [second.pid]
    assert [s["step_id"] for s in recorded_steps(conn, wid)] == [0, 1, 2]


def test_waits_park_and_wake_through_pgbouncer(pooled_app, conn, queue, start):
    """A durable wait (recv) through PgBouncer: the run parks, a message sent through PgBouncer
    wakes it, and it finishes with the message."""
    start(queue)
    handle = pooled_app.enqueue("bouncer_recv", queue=queue)
    wait_for(lambda: conn.execute("select status from durable.runs where id = %s",
                                  [handle.workflow_id]).fetchone()[0] == "waiting",
             what="the run to park")
    pooled_app.send(handle.workflow_id, {"hello": 1})
    assert handle.result(timeout=30) == {"hello": 1}


def test_prepared_statements_break_through_a_transaction_pooler(bouncer):
    """The reason for prepare=False: psycopg's default prepares a statement after 5 uses on a
    connection, and PgBouncer 1.18 in transaction mode hands the next transaction to any server
    connection, where that statement does not exist (here: another client holds the one it was
    prepared on, in a transaction); with prepare=False the same calls go on working."""
    def calls(client: psycopg.Connection) -> list[str]:
        other = psycopg.connect(bouncer.dsn)  # not autocommit: its first statement opens a
        try:                                  # transaction that keeps its server connection
            errors = []
            for i in range(12):
                try:
                    client.execute("select %s::int", [i]).fetchone()
                except psycopg.Error as exc:
                    errors.append(type(exc).__name__)
                if i == 6:
                    other.execute("select 1")  # takes the server connection just released
            return errors
        finally:
            other.close()

    with psycopg.connect(bouncer.dsn, autocommit=True) as plain:
        assert "InvalidSqlStatementName" in calls(plain)
    with durable.db.connect(bouncer.dsn, prepare=False) as unprepared:
        assert calls(unprepared) == []
