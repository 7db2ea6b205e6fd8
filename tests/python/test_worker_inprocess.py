"""Worker behaviour that needs no signals, with the worker's threads in this process."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

import durable
from durable import db

ip_app = durable.Durable()


@ip_app.step()
def a() -> str:
    """A step named a."""
    return "a"


@ip_app.step()
def b() -> str:
    """A step named b."""
    return "b"


@ip_app.workflow(name="starts_with_b")
def starts_with_b() -> str:
    """Calls b first: not what an earlier execution recorded."""
    return b() + a()


@ip_app.workflow(name="returns_an_object")
def returns_an_object() -> object:
    """Returns something durable cannot store (a plain object)."""
    return {"result": object()}


@ip_app.workflow(name="keys")
def keys() -> list:
    """Two steps reporting their idempotency keys."""
    return [key_of(), key_of()]


@ip_app.step()
def key_of() -> str:
    """The step's idempotency key."""
    return durable.idempotency_key()


@pytest.fixture
def running(dsn: str, conn: psycopg.Connection) -> Iterator[str]:
    """A worker of ip_app on a fresh queue, in this process; yields the queue."""
    queue = f"ip-{uuid.uuid4().hex[:8]}"
    conn.execute("select * from durable.set_queue(%s)", [queue])
    ip_app.dsn = dsn
    worker = durable.Worker(ip_app, queues=[queue], concurrency=2, lease_timeout=5,
                            poll_interval=0.2, grace=2)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    yield queue
    worker.stop(hurry=True)
    thread.join(10)
    ip_app.close()


def test_idempotency_keys_are_workflow_and_step_position(running):
    """Each step's key is f"{workflow_id}:{step_id}"."""
    handle = ip_app.enqueue(keys, queue=running, workflow_id=f"k-{uuid.uuid4().hex[:6]}")
    assert handle.result(timeout=10) == [f"{handle.workflow_id}:0", f"{handle.workflow_id}:1"]


def test_a_step_recorded_under_another_name_fails_the_run_with_du005(running, conn):
    """Replaying code that no longer calls the recorded step: the SQL refuses (DU005) and the
    run fails with Nondeterminism instead of running b."""
    # delayed an hour, so the worker leaves it alone while an earlier execution (in a session
    # whose clock is pinned two hours ahead) records step 0 as a and hands the run back
    handle = ip_app.enqueue(starts_with_b, queue=running, max_attempts=1, delay=3600)
    prep = f"prep-{uuid.uuid4().hex[:6]}"
    with conn.transaction():
        conn.execute("select set_config('durable.fake_now', (now() + interval '2 hours')::text,"
                     " true)")
        (claimed,) = db.claim(conn, prep, [running], 1, 30)
    db.checkpoint(conn, handle.workflow_id, claimed.lease, 0, "a", "a")
    db.release(conn, prep)
    with pytest.raises(durable.WorkflowFailed) as failed:
        handle.result(timeout=10)
    assert failed.value.error["type"] == "durable.errors.Nondeterminism"
    assert "is recorded as a, not b" in failed.value.error["message"]


def test_an_output_that_is_not_json_fails_the_run(running):
    """A workflow returning an object durable cannot store fails (it does not loop between claim and release)."""
    handle = ip_app.enqueue(returns_an_object, queue=running, max_attempts=1)
    with pytest.raises(durable.WorkflowFailed, match=r"cannot be stored.*object.*at \$\.result"):
        handle.result(timeout=10)


def test_a_workflow_no_worker_knows_stays_pending(running, conn):
    """A worker claims only the workflow names it registered (durable.register): a run of a
    name it does not know stays pending, unclaimed and with no attempt used, for a worker that
    has its code (issue 9, item 4; it used to be claimed and failed for good)."""
    unknown = ip_app.enqueue("nobody_knows_me", queue=running, max_attempts=1)
    known = ip_app.enqueue(starts_with_b, queue=running)
    assert known.result(timeout=10) == "ba"  # the worker claimed after the unknown one was there
    assert conn.execute("select status, attempt, claims from durable.runs where id = %s",
                        [unknown.workflow_id]).fetchone() == ("pending", 1, 0)


def test_steps_outside_a_workflow_are_plain_calls():
    """Called outside a worker, a step is just its function; its StepInfo is not there."""
    assert a() == "a"
    with pytest.raises(RuntimeError, match="not inside a durable step"):
        durable.idempotency_key()
    assert durable.should_stop() is False
