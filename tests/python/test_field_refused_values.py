"""Issue 9, items 1 and 9: values Postgres refuses end in a clear outcome for their run.

An error, output or input that jsonb or text cannot hold (a NUL character) and an outcome the
SQL refuses (DU008, over max_payload_bytes) belong to the step or run that produced them: the
step's retry policy applies, the error is recorded readably, the run ends; it never loops
between the worker and the heartbeat, and a refused held-back checkpoint never surfaces at the
next step's call site.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

import durable
from conftest import events, recorded_steps, status_of, wait_for


def _finished(conn: psycopg.Connection, workflow_id: str) -> str | None:
    status = status_of(conn, workflow_id)
    return status if status in ("succeeded", "failed", "cancelled") else None


def _row(conn: psycopg.Connection, workflow_id: str) -> dict:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("select status, attempt, max_attempts, error from durable.runs where id = %s",
                    [workflow_id])
        return cur.fetchone()


def _step_errors(conn: psycopg.Connection, workflow_id: str, step_id: int) -> list:
    return [r[0] for r in conn.execute(
        "select error from durable.run_errors where workflow_id = %s and step_id = %s"
        " order by id", [workflow_id, step_id]).fetchall()]


def _starts(conn: psycopg.Connection, workflow_id: str, step: int) -> int:
    return sum(1 for e in events(conn, workflow_id) if e["step"] == step and e["phase"] == "start")


def test_a_workflow_error_holding_nul_is_recorded_and_retried_until_the_run_fails(
        app, conn, queue, start_worker):
    """raise ValueError("\\x00") in a workflow: the error is recorded with the NUL escaped, the
    workflow's 3 attempts are made, and the run fails (it used to be claimed again forever)."""
    handle = app.enqueue("field_raises_nul", queue=queue)
    start_worker(queue)
    wait_for(lambda: _finished(conn, handle.workflow_id), what="the run to finish")
    row = _row(conn, handle.workflow_id)
    assert (row["status"], row["attempt"], row["max_attempts"]) == ("failed", 3, 3)
    assert row["error"]["type"] == "ValueError"
    assert row["error"]["message"] == "bad \\u0000 byte"  # readable: the NUL as text


def test_a_step_error_holding_nul_gets_the_step_retry_policy(app, conn, queue, start_worker):
    """The same error inside a step: its 2 tries are made and recorded with the NUL escaped,
    then the step's error is what the workflow (and the run) fails with."""
    handle = app.enqueue("field_nul_in_step", "raise", queue=queue)
    start_worker(queue)
    wait_for(lambda: _finished(conn, handle.workflow_id), what="the run to finish")
    assert _starts(conn, handle.workflow_id, 0) == 2
    tries = _step_errors(conn, handle.workflow_id, 0)
    assert [(e["type"], e["message"]) for e in tries] == [("ValueError", "bad \\u0000 byte")] * 2
    row = _row(conn, handle.workflow_id)
    assert row["status"] == "failed"
    # the step's ValueError, raised again in the workflow, is the run's error (issue 12)
    assert (row["error"]["type"], row["error"]["class"]) == ("ValueError", "builtins:ValueError")
    assert row["error"]["step"] == "field_nul_step"
    assert "bad \\u0000 byte" in row["error"]["message"]
    # its args hold a NUL: left out of the step's error; raised again from its message
    assert all("args" not in e for e in tries)
    assert row["error"]["args"] == ["bad \\u0000 byte"]
    assert all("note" not in e and "traceback" in e for e in tries)  # not shortened


@pytest.mark.parametrize("kind", ["return", "txn"])
def test_a_step_output_holding_nul_fails_that_step_under_its_retry_policy(
        app, conn, queue, start_worker, kind):
    """A step (plain or transactional) that returns a string holding NUL: that step fails with
    a clear error, tried twice as its policy says; no output is recorded and a transactional
    step's writes are rolled back."""
    handle = app.enqueue("field_nul_in_step", kind, queue=queue)
    start_worker(queue)
    wait_for(lambda: _finished(conn, handle.workflow_id), what="the run to finish")
    assert _starts(conn, handle.workflow_id, 0) == 2
    tries = _step_errors(conn, handle.workflow_id, 0)
    assert len(tries) == 2
    assert all(e["type"] == "durable.errors.InvalidValue" and "NUL" in e["message"]
               for e in tries), tries
    steps = recorded_steps(conn, handle.workflow_id)
    assert [(s["output"], s["error"]["type"]) for s in steps] == [
        (None, "durable.errors.InvalidValue")]
    assert _row(conn, handle.workflow_id)["status"] == "failed"
    assert conn.execute("select count(*) from testapp.ledger where workflow_id = %s",
                        [handle.workflow_id]).fetchone()[0] == 0


def test_enqueue_refuses_input_holding_nul_with_a_clear_exception(app, conn, queue):
    """Input, names and ids Postgres cannot hold: InvalidValue (a DurableError and a ValueError)
    saying what is wrong; nothing is written."""
    with pytest.raises(durable.DurableError, match=r"NUL.*\$\[0\]\.note") as info:
        app.enqueue("script", {"steps": [], "note": "a\x00b"}, queue=queue)
    assert type(info.value).__name__ == "InvalidValue" and isinstance(info.value, ValueError)
    with pytest.raises(durable.DurableError, match="NUL"):
        app.enqueue("scr\x00ipt", queue=queue)
    with pytest.raises(durable.DurableError, match="NUL"):
        app.enqueue("script", {"steps": []}, queue=queue, workflow_id="id-\x00")
    with pytest.raises(durable.DurableError, match="NUL"):
        app.enqueue_many("script", [[{"steps": []}], [{"x": "\x00"}]], queue=queue)
    assert conn.execute("select count(*) from durable.workflows where queue = %s",
                        [queue]).fetchone()[0] == 0


def test_an_output_the_sql_refuses_belongs_to_the_step_that_produced_it(
        app, conn, queue, start_worker):
    """A step's output over max_payload_bytes (DU008), refused when its held-back checkpoint is
    sent at the next step's call, which the code wraps in try/except Exception: the refusal is
    the first step's failure (its 2 tries, its recorded error), the next step never runs, and
    the run fails instead of succeeding with no step recorded."""
    conn.execute("update durable.settings set max_payload_bytes = 2048")
    try:
        handle = app.enqueue("field_big_then_swallow", queue=queue)
        start_worker(queue)
        wait_for(lambda: _finished(conn, handle.workflow_id), what="the run to finish")
    finally:
        conn.execute("update durable.settings set max_payload_bytes = default")
    wid = handle.workflow_id
    assert _starts(conn, wid, 0) == 2
    assert _starts(conn, wid, 1) == 0
    tries = _step_errors(conn, wid, 0)
    assert [e["type"] for e in tries] == ["durable.errors.PayloadTooLarge"] * 2
    steps = recorded_steps(conn, wid)
    assert [(s["step_id"], s["name"], s["error"]["type"]) for s in steps] == [
        (0, "field_big", "durable.errors.PayloadTooLarge")]
    row = _row(conn, wid)
    assert row["status"] == "failed"
    assert "step field_big failed" in row["error"]["message"]


def test_a_run_whose_error_the_sql_refuses_still_ends(app, conn, queue, start_worker):
    """A failing run whose error is over max_payload_bytes (DU008): the error is recorded
    shortened, and the run fails after its attempts instead of being dropped."""
    conn.execute("update durable.settings set max_payload_bytes = 1024")
    try:
        handle = app.enqueue("field_raises_long", queue=queue)
        start_worker(queue)
        wait_for(lambda: _finished(conn, handle.workflow_id), what="the run to finish")
    finally:
        conn.execute("update durable.settings set max_payload_bytes = default")
    row = _row(conn, handle.workflow_id)
    assert (row["status"], row["attempt"]) == ("failed", 3)
    assert row["error"]["type"] == "ValueError"
    assert row["error"]["message"].startswith("bad \\u0000 byte xxx")
    assert "shortened" in row["error"]["note"]


def test_the_worker_survives_and_goes_on_with_other_runs(app, conn, queue, start_worker):
    """After runs with refused values, the same worker still runs an ordinary workflow."""
    bad = app.enqueue("field_raises_nul", queue=queue)
    good = app.enqueue("script", {"steps": [{"kind": "plain"}]}, queue=queue,
                       workflow_id=f"ok-{uuid.uuid4().hex[:8]}")
    worker = start_worker(queue)
    assert good.result(timeout=15) == [{"pid": worker.pid, "step": 0}]
    wait_for(lambda: _finished(conn, bad.workflow_id), what="the bad run to finish")
    assert worker.proc.poll() is None
