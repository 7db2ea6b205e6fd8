"""The Node.js example (examples/node) against the same database as Python workers.

Real processes throughout: `node worker.js` and `node client.js` from examples/node, and
`durable worker invoice:app` running examples/node/invoice.py, the same workflow in Python (same
name, steps and version). A run started from either language is finished by a worker of either
and read from either; a SIGKILLed Node worker's run is resumed by another worker (Node or
Python) from its recorded steps; a cancel (DU002), a lost lease (DU001, the worker SIGSTOPped
past its lease timeout) and SIGTERM stop a Node run without recording anything more.

`npm ci` runs in examples/node when its node_modules has no `pg` (make test installs Debian's
nodejs and npm when missing: tests/lib/setup.sh).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

import durable
from conftest import LEASE, ROOT, wait_for

NODE_DIR = ROOT / "examples" / "node"
ORDER = {"customer": "ada", "lines": [{"sku": "tea", "qty": 2, "cents": 450},
                                      {"sku": "pot", "qty": 1, "cents": 2000}]}
TOTAL = 2 * 450 + 2000 + (2 * 450 + 2000) * 20 // 100  # 3480: the subtotal and 20 % tax


def uri(dsn: str) -> str:
    """The DSN as a postgresql:// URI: node-postgres reads no libpq key=value strings."""
    parts = {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    user = quote(parts.get("user", ""), safe="")
    password = f":{quote(parts['password'], safe='')}" if parts.get("password") else ""
    at = f"{user}{password}@" if user else ""
    host, port = parts.get("host", "localhost"), parts.get("port")
    database = quote(parts["dbname"], safe="")
    if host.startswith("/"):  # a Unix socket folder goes in the query string
        query = f"host={quote(host, safe='')}" + (f"&port={port}" if port else "")
        return f"postgresql://{at}/{database}?{query}"
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal
    return f"postgresql://{at}{host}{':' + port if port else ''}/{database}"


@pytest.fixture(scope="session")
def node() -> str:
    """The node program, with examples/node's dependencies installed (npm ci when missing)."""
    node_bin, npm = shutil.which("node"), shutil.which("npm")
    if not node_bin or not npm:
        pytest.fail("node and npm are needed for examples/node: apt-get install nodejs npm "
                    "(make test installs them)")
    if not (NODE_DIR / "node_modules" / "pg" / "package.json").exists():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    return node_bin


class Process:
    """A worker process (Node or Python) writing its log to a file."""

    def __init__(self, argv: list[str], dsn: str, log: Path, worker_id: str, cwd: Path):
        self.worker_id = worker_id
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in wait()/kill()
        env = dict(os.environ, DATABASE_URL=uri(dsn), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     cwd=cwd)

    def wait_ready(self, conn: psycopg.Connection) -> Process:
        """Wait until the worker has registered (durable.worker_status shows it)."""
        wait_for(lambda: self.proc.poll() is not None or conn.execute(
            "select 1 from durable.worker_status where id = %s", [self.worker_id]).fetchone(),
            what=f"worker {self.worker_id} to register")
        assert self.proc.poll() is None, self.log()
        return self

    def signal(self, sig: int) -> None:
        """Send a real signal to the process."""
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20.0) -> int:
        """Wait for the process to exit; its exit status."""
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """SIGCONT (a stopped process ignores SIGKILL's wait) then SIGKILL, if still running."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()

    def log(self) -> str:
        """What the worker printed so far."""
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, what: str) -> re.Match:
        """Wait until the log has a line matching the regular expression; the match."""
        return wait_for(lambda: re.search(pattern, self.log(), re.MULTILINE), timeout=30,
                        what=f"{what} in the log of {self.worker_id}")


@pytest.fixture
def workers(node: str, dsn: str, conn: psycopg.Connection, tmp_path: Path
            ) -> Iterator[dict[str, Callable[..., Process]]]:
    """{"node": start(queue, **options), "python": start(queue, **options)}: a registered
    worker process; SIGKILLed at the end if still running."""
    started: list[Process] = []

    def node_worker(queue: str, lease: float = LEASE, grace: float = 10.0) -> Process:
        worker_id = f"node-{uuid.uuid4().hex[:8]}"
        argv = [node, "worker.js", "--queues", queue, "--concurrency", "2", "--worker-id",
                worker_id, "--lease-timeout", str(lease), "--poll-interval", "0.5",
                "--grace", str(grace)]
        started.append(Process(argv, dsn, tmp_path / f"{worker_id}.log", worker_id, NODE_DIR))
        return started[-1].wait_ready(conn)

    def python_worker(queue: str, lease: float = LEASE) -> Process:
        worker_id = f"py-{uuid.uuid4().hex[:8]}"
        argv = [sys.executable, "-m", "durable", "worker", "invoice:app", "--path", str(NODE_DIR),
                "--queues", queue, "--concurrency", "2", "--lease-timeout", str(lease),
                "--poll-interval", "0.5", "--worker-id", worker_id]
        started.append(Process(argv, dsn, tmp_path / f"{worker_id}.log", worker_id, NODE_DIR))
        return started[-1].wait_ready(conn)

    yield {"node": node_worker, "python": python_worker}
    for process in started:
        process.kill()


def client(node: str, dsn: str, *args: str, status: int = 0) -> Any:
    """Run `node client.js ARGS`; its JSON output (status 0) or its stderr (otherwise)."""
    done = subprocess.run([node, "client.js", *args], cwd=NODE_DIR, capture_output=True,
                          text=True, env=dict(os.environ, DATABASE_URL=uri(dsn)), check=False,
                          timeout=120)
    assert done.returncode == status, (done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout) if status == 0 else done.stderr


@pytest.fixture
def py(dsn: str) -> Iterator[durable.Durable]:
    """A Python client app on the test database."""
    app = durable.Durable(dsn)
    yield app
    app.close()


def leases(conn: psycopg.Connection, workflow_id: str) -> list[int]:
    """The lease under which each recorded step was written, by position (durable.steps)."""
    return [r[0] for r in conn.execute("select lease from durable.steps where workflow_id = %s"
                                       " order by step_id", [workflow_id])]


def claimed_lease(worker: Process, workflow_id: str) -> int:
    """The lease the worker's log says it got for the workflow (its last claim of it)."""
    worker.wait_log(rf"claimed {re.escape(workflow_id)} \(", f"the claim of {workflow_id}")
    found = re.findall(rf"claimed {re.escape(workflow_id)} \(.*lease (\d+),", worker.log())
    return int(found[-1])


def test_node_client_starts_and_node_worker_finishes(node, dsn, conn, queue, workers):
    worker = workers["node"](queue)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    out = client(node, dsn, "enqueue", "invoice", json.dumps(ORDER), "--queue", queue,
                 "--id", wid, "--wait", "60")
    assert out == {"workflow_id": wid, "created": True, "status": "succeeded", "error": None,
                   "output": {"invoice": f"INV-{wid}:2", "customer": "ada",
                              "total_cents": TOTAL, "finished_by": "node"}}
    steps = conn.execute("select step_id, name, output from durable.run_steps"
                         " where workflow_id = %s order by step_id", [wid]).fetchall()
    assert steps == [(0, "price_lines", {"subtotal_cents": 2900}),
                     (1, "add_tax", {"tax_cents": 580}),
                     (2, "issue_invoice", {"number": f"INV-{wid}:2", "total_cents": TOTAL,
                                           "issued_by": "node"})]
    # the same id again: idempotent, nothing new; `result` reads it
    again = client(node, dsn, "enqueue", "invoice", json.dumps(ORDER), "--queue", queue,
                   "--id", wid)
    assert (again["created"], again["status"]) == (False, "succeeded")
    assert client(node, dsn, "result", wid)["output"]["finished_by"] == "node"
    for step in range(3):
        assert f"{wid} step {step} " in worker.log()
    assert f"{wid} succeeded" in worker.log()


def test_python_client_starts_node_worker_finishes_python_reads(dsn, conn, queue, workers, py):
    workers["node"](queue)
    handle = py.enqueue("invoice", ORDER, queue=queue, workflow_id=f"inv-{uuid.uuid4().hex[:8]}")
    output = handle.result(timeout=60)
    assert output == {"invoice": f"INV-{handle.workflow_id}:2", "customer": "ada",
                      "total_cents": TOTAL, "finished_by": "node"}


def test_node_client_starts_python_worker_finishes_node_reads(node, dsn, conn, queue, workers):
    workers["python"](queue)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    started = client(node, dsn, "enqueue", "invoice", json.dumps(ORDER), "--queue", queue,
                     "--id", wid)
    assert started["created"] is True
    out = client(node, dsn, "result", wid, "--wait", "60")
    assert (out["status"], out["output"]) == ("succeeded", {
        "invoice": f"INV-{wid}:2", "customer": "ada", "total_cents": TOTAL,
        "finished_by": "python"})
    issued = conn.execute("select output from durable.run_steps where workflow_id = %s"
                          " and step_id = 2", [wid]).fetchone()[0]
    assert issued["issued_by"] == "python"


@pytest.mark.parametrize("rescuer", ["node", "python"])
def test_sigkilled_node_worker_run_resumes_on_another_worker(node, dsn, conn, queue, workers,
                                                             py, rescuer):
    first = workers["node"](queue)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    client(node, dsn, "enqueue", "invoice", json.dumps({**ORDER, "pause_ms": 3000}),
           "--queue", queue, "--id", wid)
    first.wait_log(rf"{wid} step 2 issue_invoice: running", "step 2 running")
    first_lease = claimed_lease(first, wid)
    first.signal(signal.SIGKILL)
    first.wait()
    assert leases(conn, wid) == [first_lease, first_lease]  # steps 0 and 1, not step 2

    second = workers[rescuer](queue)
    output = py.handle(wid).result(timeout=60)
    assert output == {"invoice": f"INV-{wid}:2", "customer": "ada", "total_cents": TOTAL,
                      "finished_by": rescuer}
    # steps 0 and 1 kept from the first claim (replayed, not run again); step 2 by the rescuer
    steps = leases(conn, wid)
    assert steps[:2] == [first_lease, first_lease] and steps[2] > first_lease
    issued = conn.execute("select output from durable.run_steps where workflow_id = %s"
                          " and step_id = 2", [wid]).fetchone()[0]
    assert issued["issued_by"] == rescuer
    run = conn.execute("select attempt, lost_leases from durable.runs where id = %s",
                       [wid]).fetchone()
    assert run == (1, 1)
    if rescuer == "node":
        assert claimed_lease(second, wid) == steps[2]
        log = second.log()
        assert f"{wid} step 0 price_lines: replayed" in log
        assert f"{wid} step 1 add_tax: replayed" in log
        assert f"{wid} step 2 issue_invoice: recorded" in log


def test_cancel_stops_node_run_and_the_worker_goes_on(node, dsn, conn, queue, workers, py):
    # lease timeout 30 s: heartbeats every 10 s, so the step's checkpoint usually learns of the
    # cancel first (DU002); a heartbeat that comes first stops it as well (the run is not held)
    worker = workers["node"](queue, lease=30)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    client(node, dsn, "enqueue", "invoice", json.dumps({**ORDER, "pause_ms": 3000}),
           "--queue", queue, "--id", wid)
    worker.wait_log(rf"{wid} step 2 issue_invoice: running", "step 2 running")
    assert py.handle(wid).cancel() == "cancelled"
    stopped = worker.wait_log(rf"^.*{wid} stopped: (.*)$", "the run stopped").group(1)
    # the reason is the refusal's JSON DETAIL, read by the worker (not its message)
    assert "cancelled (DU002, status cancelled)" in stopped or "heartbeat" in stopped, stopped
    assert [r[0] for r in conn.execute("select step_id from durable.run_steps"
                                       " where workflow_id = %s order by 1", [wid])] == [0, 1]
    assert py.handle(wid).status() == "cancelled"
    assert f"{wid} succeeded" not in worker.log()
    # the worker goes on with other work
    out = client(node, dsn, "enqueue", "invoice", json.dumps(ORDER), "--queue", queue,
                 "--wait", "60")
    assert out["status"] == "succeeded"


def test_lost_lease_stops_node_run(node, dsn, conn, queue, workers, py):
    stalled = workers["node"](queue)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    client(node, dsn, "enqueue", "invoice", json.dumps({**ORDER, "pause_ms": 3000}),
           "--queue", queue, "--id", wid)
    stalled.wait_log(rf"{wid} step 2 issue_invoice: running", "step 2 running")
    stalled_lease = claimed_lease(stalled, wid)
    stalled.signal(signal.SIGSTOP)  # no heartbeat: past the lease timeout it is thought dead
    other = workers["node"](queue)
    assert py.handle(wid).result(timeout=60)["finished_by"] == "node"
    other_lease = claimed_lease(other, wid)
    assert leases(conn, wid) == [stalled_lease, stalled_lease, other_lease]
    stalled.signal(signal.SIGCONT)
    # its step ends and its checkpoint is refused (DU001), or its heartbeat finds the run gone
    stopped = stalled.wait_log(rf"^.*{wid} stopped: (.*)$", "the run stopped").group(1)
    assert "lease_lost (DU001, status " in stopped or "heartbeat" in stopped, stopped
    assert leases(conn, wid) == [stalled_lease, stalled_lease, other_lease]
    assert f"{wid} step 2 issue_invoice: recorded" not in stalled.log()
    assert f"{wid} succeeded" not in stalled.log()
    stalled.signal(signal.SIGTERM)
    assert stalled.wait() == 0, stalled.log()


def test_sigterm_releases_node_run_at_once(node, dsn, conn, queue, workers, py):
    first = workers["node"](queue, lease=60, grace=0.2)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    client(node, dsn, "enqueue", "invoice", json.dumps({**ORDER, "pause_ms": 60000}),
           "--queue", queue, "--id", wid)
    first.wait_log(rf"{wid} step 2 issue_invoice: running", "step 2 running")
    first.signal(signal.SIGTERM)
    assert first.wait() == 0, first.log()
    assert "stopped (1 released)" in first.log()
    # released, not left to its 60 s lease: pending at once, no owner
    assert conn.execute("select status, owner from durable.runs where id = %s",
                        [wid]).fetchone() == ("pending", None)
    # another worker takes it over at once, from its recorded steps
    second = workers["node"](queue)
    second.wait_log(rf"{wid} step 2 issue_invoice: running", "step 2 running again")
    assert f"{wid} step 1 add_tax: replayed" in second.log()
    assert py.handle(wid).cancel() == "cancelled"  # (its step would wait a minute again)


def test_node_step_retries_after_the_backoff_step_failed_gives(node, dsn, conn, queue, workers):
    # issue_invoice fails its first 2 tries of 3: durable.step_failed answers retry with
    # retry_in_seconds (a number: node-postgres reads the interval retry_in as an object)
    worker = workers["node"](queue)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    out = client(node, dsn, "enqueue", "invoice", json.dumps({**ORDER, "fail_tries": 2}),
                 "--queue", queue, "--id", wid, "--wait", "60")
    assert out["status"] == "succeeded", out
    waits = [float(s) for s in re.findall(
        rf"{wid} step 2 issue_invoice: try \d failed \(invoicing service unavailable \(try \d\)\),"
        r" again in (\d+\.\d\d) s", worker.log())]
    assert len(waits) == 2, worker.log()
    assert 0.1 <= waits[0] <= 0.2 and 0.2 <= waits[1] <= 0.4, waits  # base 0.2 s, equal jitter
    assert [r[0] for r in conn.execute("select error->>'message' from durable.run_errors"
                                       " where workflow_id = %s order by 1", [wid])] == [
        "invoicing service unavailable (try 1)", "invoicing service unavailable (try 2)"]


def test_failed_node_run_is_read_from_python(node, dsn, conn, queue, workers, py):
    workers["node"](queue)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    out = client(node, dsn, "enqueue", "invoice", json.dumps({**ORDER, "lines": []}),
                 "--queue", queue, "--id", wid, "--wait", "60")
    assert out["status"] == "failed"
    assert out["error"]["type"] == "NonRetryable"
    assert "workflows.js" in out["error"]["traceback"]
    with pytest.raises(durable.WorkflowFailed, match="at least one line"):
        py.handle(wid).result(timeout=5)
    assert conn.execute("select attempt from durable.runs where id = %s",
                        [wid]).fetchone()[0] == 1  # NonRetryable: no second attempt


def test_node_client_errors_carry_the_sqlstate(node, dsn, queue):
    assert client(node, dsn, "result", "no-such-run", status=1).startswith("DU003: ")
    assert client(node, dsn, "enqueue", "invoice", "{}", "--queue", "no-such-queue",
                  status=1).startswith("DU004: ")
    # nothing serves the queue: --wait runs out (exit status 2), the run stays pending
    assert "still pending" in client(node, dsn, "enqueue", "invoice", json.dumps(ORDER),
                                     "--queue", queue, "--wait", "0.3", status=2)


def test_node_worker_reads_the_args_object_and_refuses_keyword_arguments(conn, queue, workers,
                                                                         py):
    """Input {"$args": [...], "$kwargs": {}} (what the Python client writes with keyword
    arguments) runs with its positional arguments; keyword arguments, which JavaScript has
    not, fail the run at once, without retries, saying so."""
    workers["node"](queue)
    positional, keywords = (f"inv-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for wid, value in ((positional, {"$args": [ORDER], "$kwargs": {}}),
                       (keywords, {"$args": [], "$kwargs": {"order": ORDER}})):
        conn.execute("select durable.enqueue(%s, %s::jsonb, p_queue => %s, p_workflow_id => %s)",
                     ["invoice", json.dumps(value), queue, wid])
    assert py.handle(positional).result(timeout=60)["total_cents"] == TOTAL
    with pytest.raises(durable.WorkflowFailed, match=r"keyword arguments \(order\)"):
        py.handle(keywords).result(timeout=60)
    assert conn.execute("select attempt from durable.runs where id = %s",
                        [keywords]).fetchone()[0] == 1


def test_node_worker_survives_its_connections_being_terminated(node, dsn, conn, queue, workers,
                                                               py):
    """pg_terminate_backend of every connection of a Node worker while a step runs: the pool
    replaces them, the worker listens again (without an 'error' listener on its LISTEN client
    Node would end the process), the run finishes, and the worker goes on."""
    worker = workers["node"](queue)
    wid = f"inv-{uuid.uuid4().hex[:8]}"
    client(node, dsn, "enqueue", "invoice", json.dumps({**ORDER, "pause_ms": 2000}),
           "--queue", queue, "--id", wid)
    worker.wait_log(rf"{wid} step 2 issue_invoice: running", "step 2 running")
    terminated = conn.execute(
        "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity"
        " where application_name = 'durable node worker' and datname = current_database()"
    ).fetchone()[0]
    assert terminated >= 1  # its LISTEN connection at least
    assert py.handle(wid).result(timeout=60)["total_cents"] == TOTAL
    worker.wait_log(r"listening connection lost \(57P01\): listening again", "the new LISTEN")
    assert worker.proc.poll() is None, worker.log()
    out = client(node, dsn, "enqueue", "invoice", json.dumps(ORDER), "--queue", queue,
                 "--wait", "60")
    assert out["status"] == "succeeded"
