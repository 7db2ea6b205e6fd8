"""Issue 9, item 3: one workflow's data never takes a worker down.

JSON nested deeper than Python's json module can decode (RecursionError) is put into a pending
run's input by a superuser, past whatever limit the SQL sets at enqueue: the worker that claims
it fails that run alone, without retries, with an error that says why, and goes on.
"""

from __future__ import annotations

import uuid

import psycopg

from conftest import status_of, wait_for

DEEP = "(repeat('[', 5000) || repeat(']', 5000))::jsonb"


def _finished(conn: psycopg.Connection, workflow_id: str) -> str | None:
    status = status_of(conn, workflow_id)
    return status if status in ("succeeded", "failed", "cancelled") else None


def test_a_run_with_input_too_deep_to_decode_fails_alone_and_the_worker_lives(
        app, conn, queue, start_worker):
    deep = app.enqueue("script", {"steps": []}, queue=queue, max_attempts=3,
                       workflow_id=f"deep-{uuid.uuid4().hex[:8]}")
    conn.execute(f"update durable.workflows set input = {DEEP} where id = %s",
                 [deep.workflow_id])
    worker = start_worker(queue)
    wait_for(lambda: _finished(conn, deep.workflow_id), what="the deep run to finish")
    status, attempt, error = conn.execute(
        "select status, attempt, error from durable.runs where id = %s",
        [deep.workflow_id]).fetchone()
    assert (status, attempt) == ("failed", 1)  # not retried: it cannot decode next time either
    assert "too deep" in error["message"] and "input" in error["message"], error
    # the same worker process is alive and runs the next workflow
    good = app.enqueue("script", {"steps": [{"kind": "plain"}]}, queue=queue)
    assert good.result(timeout=15) == [{"pid": worker.pid, "step": 0}]
    assert worker.proc.poll() is None


def test_a_run_with_a_recorded_step_too_deep_to_decode_fails_alone(
        app, conn, queue, start_worker):
    """The same for a recorded step's output, which comes with the claim."""
    wid = app.enqueue("script", {"steps": [{"kind": "plain"}, {"kind": "plain"}]}, queue=queue,
                      max_attempts=3).workflow_id
    prep = f"prep-{uuid.uuid4().hex[:6]}"
    lease = conn.execute("select lease from durable.claim(%s, array[%s])",
                         [prep, queue]).fetchone()[0]
    conn.execute("select * from durable.checkpoint(%s, %s, 0, 'plain', '[]')", [wid, lease])
    conn.execute("select durable.release(%s)", [prep])
    conn.execute(f"update durable.steps set output = {DEEP} where workflow_id = %s", [wid])
    worker = start_worker(queue)
    wait_for(lambda: _finished(conn, wid), what="the run to finish")
    status, attempt, error = conn.execute(
        "select status, attempt, error from durable.runs where id = %s", [wid]).fetchone()
    assert (status, attempt) == ("failed", 1)  # released, not failed: still attempt 1 of 3
    assert "too deep" in error["message"] and "steps" in error["message"], error
    assert conn.execute("select count(*) from durable.steps where workflow_id = %s",
                        [wid]).fetchone()[0] == 1
    assert worker.proc.poll() is None
