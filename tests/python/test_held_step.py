"""A step's checkpoint is held back until the run's next statement (durable.execution): what the
workflow sees of a step's output is what a replay will see, and a held step is never lost when
the run ends another way than by returning."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.types.json import Jsonb

import durable
from durable.execution import as_jsonb, current_run

hs_app = durable.Durable()
RUNS: dict[str, int] = {}


@hs_app.step()
def counted(key: str) -> dict:
    """Counts its executions per key; returns keys jsonb reorders."""
    RUNS[key] = RUNS.get(key, 0) + 1
    return {"bbb": 1, "a": [1.5, 1e20], "cc": None}


@hs_app.workflow(name="fails_after_a_step", max_attempts=2, backoff_base=0.01, backoff_max=0.01)
def fails_after_a_step(key: str) -> dict:
    """Runs a step, then fails on its first attempt; the retry replays the step."""
    out = counted(key)
    if current_run().claimed.attempt == 1:
        raise RuntimeError("first attempt fails after its step")
    return out


@hs_app.step()
def too_big() -> str:
    """An output over the payload limit."""
    return "x" * 5000


@hs_app.workflow(name="last_step_too_big")
def last_step_too_big() -> str:
    """Its last step's output is refused (DU008) when the finish records it."""
    too_big()
    return "unreachable"


@hs_app.workflow(name="sees_outputs")
def sees_outputs(key: str) -> list:
    """Returns the key order and types it saw from a step."""
    out = counted(key)
    return [list(out), [type(v).__name__ for v in out["a"]]]


VALUES = [
    None, True, 0, -7, 2**70, 1.5, 1e-7, 1e20, -3e16, 2.0, "", "é \u2603 \U0001f600",
    [], {}, {"bbb": 1, "a": 2, "cc": 3}, {"é": 1, "z": 2, "yy": {"b": 1, "a": [1e300, {"k": 0}]}},
    [{"ab": 1, "b": 2}, [1.25, 100.0]],
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_as_jsonb_gives_what_postgres_gives_back(conn, value):
    """The value a workflow sees of a step's output equals, key order included, what jsonb
    returns for it: the value a replay of the step sees."""
    text, seen = as_jsonb(value)
    back = conn.execute("select %s::jsonb", [Jsonb(value)]).fetchone()[0]
    assert seen == back
    assert repr(seen) == repr(back)  # the same types and the same key order
    assert conn.execute("select %s::jsonb = %s::jsonb", [text, Jsonb(value)]).fetchone()[0]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": [lambda: 1]}, object()])
def test_as_jsonb_refuses_what_is_not_json(value):
    with pytest.raises((TypeError, ValueError)):
        as_jsonb(value)


@pytest.fixture
def running(dsn: str, conn: psycopg.Connection) -> Iterator[str]:
    queue = f"hs-{uuid.uuid4().hex[:8]}"
    conn.execute("select * from durable.set_queue(%s)", [queue])
    hs_app.dsn = dsn
    worker = durable.Worker(hs_app, queues=[queue], concurrency=2, lease_timeout=5,
                            poll_interval=0.2, grace=2)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    yield queue
    worker.stop(hurry=True)
    thread.join(10)
    hs_app.close()


def test_a_run_that_fails_after_a_step_records_the_step_first(running, conn):
    """The held checkpoint is sent before the failure: the retry replays the step instead of
    running it again."""
    key = uuid.uuid4().hex
    handle = hs_app.enqueue(fails_after_a_step, key, queue=running)
    assert handle.result(timeout=15) == {"a": [1.5, 100000000000000000000], "cc": None, "bbb": 1}
    assert RUNS[key] == 1
    rows = conn.execute("select step_id, name from durable.steps where workflow_id = %s",
                        [handle.workflow_id]).fetchall()
    assert rows == [(0, "counted")]
    assert conn.execute("select attempt from durable.workflows where id = %s",
                        [handle.workflow_id]).fetchone()[0] == 2


def test_the_workflow_sees_a_step_output_as_a_replay_will(running, conn):
    """Key order and number types as jsonb gives them back, on the first run already."""
    key = uuid.uuid4().hex
    handle = hs_app.enqueue(sees_outputs, key, queue=running)
    assert handle.result(timeout=15) == [["a", "cc", "bbb"], ["float", "int"]]


def test_a_refused_last_step_is_that_steps_failure(running, conn):
    """The finish refuses the held last step (DU008): that is the step's failed try (one, its
    default policy), recorded as its outcome without the output; the workflow sees it at the
    step's call and the run fails with it."""
    conn.execute("update durable.settings set max_payload_bytes = 2048")
    try:
        handle = hs_app.enqueue(last_step_too_big, queue=running, max_attempts=1)
        with pytest.raises(durable.WorkflowFailed, match="step too_big failed.*over the limit"):
            handle.result(timeout=15)
    finally:
        conn.execute("update durable.settings set max_payload_bytes = default")
    rows = conn.execute("select step_id, output, error->>'type' from durable.steps"
                        " where workflow_id = %s", [handle.workflow_id]).fetchall()
    assert rows == [(0, None, "durable.errors.PayloadTooLarge")]
