"""Arguments that do not fit the workflow's parameters (the CLI and SQL enqueue cannot check
them) fail the run at its first attempt, without retries: binding them is deterministic. A
TypeError raised inside the workflow's body is its own error and is retried as any other."""

from __future__ import annotations

import uuid

from conftest import wait_for
from durable import db


def _finished(conn, wid: str) -> dict:
    wait_for(lambda: conn.execute("select status in ('failed', 'succeeded') from durable.runs"
                                  " where id = %s", [wid]).fetchone()[0],
             what=f"{wid} to finish")
    row = conn.execute("select status, attempt, error from durable.runs where id = %s",
                       [wid]).fetchone()
    return {"status": row[0], "attempt": row[1], "error": row[2]}


def test_arguments_that_do_not_bind_fail_without_retries(conn, queue, start_worker):
    worker = start_worker(queue)
    # field_raises_long takes no argument and has max_attempts=3
    wid = db.enqueue(conn, "field_raises_long", [1, 4], queue=queue,
                     workflow_id=f"mismatch-{uuid.uuid4().hex[:8]}")[0]
    run = _finished(conn, wid)
    assert run["status"] == "failed", worker.log()
    assert run["attempt"] == 1
    assert run["error"]["type"] == "TypeError"
    assert "field_raises_long" in run["error"]["message"]
    assert "cannot take these arguments" in run["error"]["message"]


def test_errors_of_the_body_are_still_retried(conn, queue, start_worker):
    start_worker(queue)
    wid = db.enqueue(conn, "field_raises_long", [], queue=queue,
                     workflow_id=f"body-{uuid.uuid4().hex[:8]}")[0]
    run = _finished(conn, wid)
    assert (run["status"], run["attempt"]) == ("failed", 3)
