"""Issue 9, item 6: once the SQL has said a run is cancelled (or its lease lost), every later
step call of that run stops it, whatever the workflow's code catches.

The reported pattern: prepare(); try: optional() except Exception: pass; send_email(),
cancelled while prepare runs. The cancel is seen when prepare's held-back checkpoint is sent at
optional's call (DU002); send_email must not run.
"""

from __future__ import annotations

import pytest

import durable
from conftest import events, wait_for


@pytest.mark.parametrize("catch", ["Exception", "BaseException"])
def test_a_swallowed_cancel_does_not_let_the_next_step_run(app, conn, queue, start_worker, catch):
    handle = app.enqueue("field_swallows", catch, queue=queue)
    wid = handle.workflow_id
    # a long lease: the heartbeat (every lease/3) does not see the cancel first
    worker = start_worker(queue, lease=60.0)
    wait_for(lambda: any(e["step"] == 0 and e["phase"] == "start" for e in events(conn, wid)),
             what="prepare to start")
    assert handle.cancel() == "cancelled"
    conn.execute("insert into testapp.events (workflow_id, phase, pid) values (%s, 'go', 0)",
                 [wid])
    wait_for(lambda: f"{wid}: stopped" in worker.log(), what="the worker to stop the run")
    started = [e["step"] for e in events(conn, wid) if e["phase"] == "start"]
    assert started == [0], worker.log()  # neither optional nor send_email ran
    with pytest.raises(durable.WorkflowCancelled):
        handle.result(timeout=1)
    assert worker.proc.poll() is None


def test_the_interruption_is_not_an_exception_the_code_catches_by_accident():
    """Stopped derives from BaseException (like asyncio.CancelledError): `except Exception`
    in workflow code does not swallow it."""
    assert issubclass(durable.Stopped, BaseException)
    assert not issubclass(durable.Stopped, Exception)
