"""Issue 9, item 7: a step that returned is not run again after a crash.

`send_welcome(); time.sleep(8); send_followup()`, the worker SIGKILLed during the sleep: the
welcome went out twice. Its checkpoint was held back in the worker's memory until the run's next
statement, for as long as the workflow's own code ran. Now it is sent the moment the step
returns, with its own Sync, so that it commits whatever happens to the worker after.
"""

from __future__ import annotations

import signal

import psycopg

from conftest import LEASE, events, recorded_steps, status_of, wait_for


def _finished(conn: psycopg.Connection, workflow_id: str) -> str | None:
    status = status_of(conn, workflow_id)
    return status if status in ("succeeded", "failed", "cancelled") else None


def _phases(conn: psycopg.Connection, workflow_id: str) -> list[str]:
    return [e["phase"] for e in events(conn, workflow_id)]


def test_a_step_that_returned_is_not_run_again_after_a_sigkill(app, conn, queue, start_worker):
    """SIGKILL while the workflow's code sleeps after step 0 returned: step 0 is recorded by the
    dead worker, and the worker that recovers the run replays it instead of running it (its
    outside effect, the events row, happens once) and runs step 1."""
    wid = app.enqueue("field_sleep_between", 60, queue=queue).workflow_id
    first = start_worker(queue, concurrency=1)
    wait_for(lambda: "sleeping" in _phases(conn, wid), what="step 0 to return")
    first.signal(signal.SIGKILL)
    first.wait()
    second = start_worker(queue, concurrency=1)
    assert wait_for(lambda: _finished(conn, wid), timeout=LEASE + 15) == "succeeded", second.log()

    starts = [(e["step"], e["pid"]) for e in events(conn, wid) if e["phase"] == "start"]
    assert starts == [(0, first.pid), (1, second.pid)]
    assert [(s["step_id"], s["output"]) for s in recorded_steps(conn, wid)] == [
        (0, "step 0"), (1, "step 1")]
    assert app.handle(wid).result(timeout=1) == ["step 0", "step 1"]
    claims = conn.execute("select claims from durable.runs where id = %s", [wid]).fetchone()[0]
    assert claims == 2
