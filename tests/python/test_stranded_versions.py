"""Runs pinned to a code version no live worker has are never taken by workers of another
version (on purpose: README, versions); a worker says so in its log, with the count, the
versions and the remedy, instead of leaving them running for a dead worker in silence."""

from __future__ import annotations

import uuid

from conftest import wait_for
from durable import db


def test_worker_warns_about_runs_pinned_to_versions_it_lacks(conn, queue, start_worker):
    # a worker of version old-1 claimed a run, then died (its lease ran out)
    held = db.enqueue(conn, "script", [{"steps": []}], queue=queue,
                      workflow_id=f"stranded-{uuid.uuid4().hex[:8]}")[0]
    dead = f"dead-{uuid.uuid4().hex[:6]}"
    db.register(conn, dead, [{"name": "script", "queue": queue}], "old-1", 0.2)
    assert [c.workflow_id for c in db.claim(conn, dead, [queue], 1, 0.2)] == [held]
    wait_for(lambda: not conn.execute("select alive from durable.worker_status where id = %s",
                                      [dead]).fetchone()[0], what="the lease to run out")
    # and a run pinned to old-2 that has waited a long while (a retry of an old-2 attempt)
    waiting = db.enqueue(conn, "script", [{"steps": []}], queue=queue,
                         workflow_id=f"stranded-{uuid.uuid4().hex[:8]}")[0]
    conn.execute("update durable.workflows set version = 'old-2',"
                 " run_at = now() - interval '1 hour' where id = %s", [waiting])
    worker = start_worker(queue)
    wait_for(lambda: "pinned to other versions" in worker.log(), what="the warning")
    line = next(t for t in worker.log().splitlines() if "pinned to other versions" in t)
    assert "WARNING" in line and "2 runs" in line
    assert "old-1" in line and "old-2" in line
    assert "durable fork" in line and "durable cancel" in line
    # the runs are left as they are: pinned, not taken
    assert conn.execute("select status, owner from durable.runs where id = %s",
                        [held]).fetchone() == ("running", dead)


def test_no_warning_when_nothing_is_stranded(conn, queue, start_worker):
    wid = db.enqueue(conn, "script", [{"steps": []}], queue=queue)[0]
    worker = start_worker(queue)
    wait_for(lambda: conn.execute("select status from durable.runs where id = %s",
                                  [wid]).fetchone()[0] == "succeeded", what="the run")
    # a heartbeat or more later (the check runs with the first one)
    wait_for(lambda: conn.execute("select heartbeat_at > started_at + interval '1 second'"
                                  " from durable.worker_status where id = %s",
                                  [worker.worker_id]).fetchone()[0], what="heartbeats")
    assert "pinned to other versions" not in worker.log()
