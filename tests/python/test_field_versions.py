"""Rolling deploys (issue 9, items 4 and 5): a worker runs only what it has code for.

Regressions: an old worker that registered only `alpha` claimed `beta`, enqueued by a new
client, and failed it for good in three attempts of LookupError; a workflow started on v1 and
recovered by v2 (which inserts a step at position 1) raised DU005, retried like a transient
error until the run failed. Now a worker registers its workflow names and code version
(durable.register), its claims take only those, and a run is pinned to the version that first
ran it: a v2 worker leaves a v1 run alone and a v1 worker finishes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

from psycopg.types.json import Jsonb

import durable_versions
from conftest import HERE, WorkerProcess, events, status_of, wait_for


def _worker(dsn, conn, queue, tmp_path, app):
    """A real `durable worker durable_versions:<app>` process, ready (registered)."""
    w = object.__new__(WorkerProcess)  # WorkerProcess's methods, another app
    w.dsn, w.worker_id = dsn, f"{app}-{uuid.uuid4().hex[:8]}"
    w.log_path = tmp_path / f"{w.worker_id}.log"
    w._log = open(w.log_path, "wb")  # noqa: SIM115 - closed in kill()
    w.proc = subprocess.Popen(
        [sys.executable, "-m", "durable", "worker", f"durable_versions:{app}", "--path", str(HERE),
         "--queues", queue, "--concurrency", "2", "--lease-timeout", "1",
         "--poll-interval", "0.2", "--grace", "1", "--worker-id", w.worker_id],
        stdout=w._log, stderr=subprocess.STDOUT, cwd=HERE,
        env=dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1"))
    w.pid = w.proc.pid
    return w.wait_ready(conn)


def _enqueue(conn, name, queue, args):
    workflow_id = f"{name}-{uuid.uuid4().hex[:8]}"
    conn.execute("select * from durable.enqueue(%s, %s, p_queue => %s, p_workflow_id => %s)",
                 [name, Jsonb(args), queue, workflow_id])
    return workflow_id


def test_an_old_worker_leaves_workflows_it_has_no_code_for(dsn, conn, queue, tmp_path):
    old = _worker(dsn, conn, queue, tmp_path, "v1")
    try:
        beta = _enqueue(conn, "beta", queue, [])
        alpha = _enqueue(conn, "alpha", queue, [])
        wait_for(lambda: status_of(conn, alpha) == "succeeded", what="the old worker to run alpha")
        row = conn.execute("select status, attempt, claims from durable.runs where id = %s",
                           [beta]).fetchone()
        assert row == ("pending", 1, 0), row  # untouched: no attempt used, never claimed
        new = _worker(dsn, conn, queue, tmp_path, "v2")
        try:
            wait_for(lambda: status_of(conn, beta) == "succeeded", what="the new worker to run beta")
        finally:
            new.kill()
    finally:
        old.kill()


def test_a_run_started_on_v1_is_finished_by_v1_not_replayed_by_v2(dsn, conn, queue, tmp_path):
    first = _worker(dsn, conn, queue, tmp_path, "v1")
    run = _enqueue(conn, "order", queue, [30])
    wait_for(lambda: any(e["phase"] == "charge" for e in events(conn, run)),
             what="v1 to reach charge")
    first.signal(signal.SIGKILL)
    first.kill()
    assert conn.execute("select version from durable.runs where id = %s",
                        [run]).fetchone() == ("v1",)

    new = _worker(dsn, conn, queue, tmp_path, "v2")
    try:
        # v2 is alive and polling; the v1 run's worker is dead, but v2 never takes it
        other = _enqueue(conn, "order", queue, [0])
        wait_for(lambda: status_of(conn, other) == "succeeded", timeout=20,
                 what="v2 to run a workflow of its own")
        row = conn.execute("select status, attempt, version from durable.runs where id = %s",
                           [run]).fetchone()
        assert row == ("running", 1, "v1"), row
        assert not conn.execute("select count(*) from durable.run_errors where workflow_id = %s",
                                [run]).fetchone()[0]
        # a v1 worker (the old code, still deployed somewhere) finishes it
        again = _worker(dsn, conn, queue, tmp_path, "v1")
        try:
            wait_for(lambda: status_of(conn, run) == "succeeded", timeout=20,
                     what="a v1 worker to finish the v1 run")
        finally:
            again.kill()
    finally:
        new.kill()
    output = conn.execute("select output from durable.runs where id = %s", [run]).fetchone()[0]
    assert output == ["reserve@v1", "charge@v1", "ship@v1"]
    assert [e["phase"] for e in events(conn, run)] == ["reserve", "charge", "charge", "ship"]


def test_the_derived_version_follows_the_workflow_source():
    import durable
    a, b = durable.Durable(), durable.Durable()

    @a.workflow(name="w")
    def w1() -> int:
        return 1

    @b.workflow(name="w")
    def w2() -> int:
        return 2

    assert a.version.startswith("src-") and a.version != b.version
    assert durable_versions.v1.version == "v1"
    assert {r["name"] for r in durable_versions.v2.registrations()} == {"order", "alpha", "beta"}
    assert {"name": "beta", "queue": "default", "max_attempts": 1} in \
        durable_versions.v2.registrations()
