"""The app the worker processes of the tests run (`durable worker durable_testapp:app`).

One workflow, `script`, runs the steps its input lists, so each test states what happens:
    app.enqueue("script", {"steps": [{"kind": "plain", "sleep": 3, "first_only": True}, ...]})
Every step writes what it does to testapp.events through a connection of its own (committed at
once, so a test sees it even when the worker is killed right after), with the worker's pid: the
tests read the story of each run from there.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psycopg

import durable

app = durable.Durable(os.environ.get("DATABASE_URL"))
_local = threading.local()

SCHEMA = """
create schema if not exists testapp;
create table if not exists testapp.events (
  id bigint generated always as identity primary key,
  workflow_id text not null,
  step integer,
  phase text not null,
  pid integer not null,
  detail jsonb,
  at timestamptz not null default clock_timestamp()
);
create table if not exists testapp.ledger (
  id bigint generated always as identity primary key,
  workflow_id text not null,
  step integer not null,
  pid integer not null
);
"""


def _side() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed or conn.broken:
        conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        _local.conn = conn
    return conn


def event(step: int | None, phase: str, detail: Any = None) -> None:
    """Write one event of the running workflow to testapp.events (committed at once)."""
    info = durable.step_info()
    _side().execute(
        "insert into testapp.events (workflow_id, step, phase, pid, detail) values (%s, %s, %s, %s, %s)",
        [info.workflow_id, step, phase, os.getpid(), psycopg.types.json.Jsonb(detail)],
    )


def _ran_before(step: int) -> bool:
    info = durable.step_info()
    row = _side().execute(
        "select count(*) from testapp.events where workflow_id = %s and step = %s and phase = 'start'",
        [info.workflow_id, step],
    ).fetchone()
    return bool(row and row[0] > 1)  # this execution's own start event is already there


def _sleep(spec: dict, step: int) -> None:
    seconds = float(spec.get("sleep", 0))
    if seconds and not (spec.get("first_only") and _ran_before(step)):
        time.sleep(seconds)


@app.step()
def plain(spec: dict, step: int) -> dict:
    """A step with an outside effect (the events row), sleeping as told."""
    info = durable.step_info()
    event(step, "start", {"key": info.idempotency_key, "try": info.try_number})
    _sleep(spec, step)
    event(step, "end")
    return {"pid": os.getpid(), "step": step}


@app.transaction()
def txn(conn: psycopg.Connection, spec: dict, step: int) -> dict:
    """A transactional step: its ledger row commits with its checkpoint, or not at all."""
    event(step, "start")
    conn.execute("insert into testapp.ledger (workflow_id, step, pid) values (%s, %s, %s)",
                 [durable.step_info().workflow_id, step, os.getpid()])
    _sleep(spec, step)
    return {"pid": os.getpid(), "step": step}


@app.step(max_attempts=3, backoff_base=0.2, backoff_max=0.2)
def flaky(spec: dict, step: int) -> dict:
    """Fails its first spec["fail"] tries; the SQL decides on the retries (3 tries at most)."""
    info = durable.step_info()
    event(step, "start", {"try": info.try_number})
    if info.try_number <= int(spec.get("fail", 0)):
        raise RuntimeError(f"flaky failure {info.try_number}")
    return {"tries": info.try_number}


@app.step()
def patient(spec: dict, step: int) -> dict:
    """Waits up to spec["sleep"] seconds, returning early when the worker says stop."""
    event(step, "start")
    deadline = time.monotonic() + float(spec.get("sleep", 10))
    while time.monotonic() < deadline:
        if durable.should_stop():
            event(step, "told to stop")
            return {"stopped": True}
        time.sleep(0.05)
    event(step, "end")
    return {"stopped": False}


STEPS = {"plain": plain, "txn": txn, "flaky": flaky, "patient": patient}


@app.workflow(name="script", max_attempts=1)
def script(plan: dict) -> list:
    """Run the steps plan["steps"] lists, in order; raise at the end when plan["raise"]."""
    outputs = [STEPS[spec["kind"]](spec, i) for i, spec in enumerate(plan["steps"])]
    if plan.get("raise"):
        raise RuntimeError("the workflow raised on purpose")
    return outputs


# -- field failures (issue 9): one workflow per reported case ------------------------------------


def _go(workflow_id: str) -> bool:
    """Whether the test has written the 'go' event of a workflow (the step may go on)."""
    return bool(_side().execute("select 1 from testapp.events where workflow_id = %s"
                                " and phase = 'go'", [workflow_id]).fetchone())


@app.workflow(name="field_raises_nul", max_attempts=3, backoff_base=0.01, backoff_max=0.01)
def field_raises_nul() -> None:
    """Raises an error whose message holds a NUL character, which jsonb cannot hold as such."""
    raise ValueError("bad \x00 byte")


@app.workflow(name="field_raises_long", max_attempts=3, backoff_base=0.01, backoff_max=0.01)
def field_raises_long() -> None:
    """Raises an error with a NUL and a message of 1500 characters."""
    raise ValueError("bad \x00 byte " + "x" * 1500)


@app.step(max_attempts=2, backoff_base=0.01, backoff_max=0.01)
def field_nul_step(kind: str) -> Any:
    """Raises an error holding NUL (kind "raise") or returns a string holding one ("return")."""
    event(0, "start", {"try": durable.step_info().try_number})
    if kind == "raise":
        raise ValueError("bad \x00 byte")
    return {"text": "a\x00b"}


@app.transaction(max_attempts=2, backoff_base=0.01, backoff_max=0.01)
def field_nul_txn(conn: psycopg.Connection) -> str:
    """A transactional step that writes a ledger row and returns a string holding NUL."""
    event(0, "start", {"try": durable.step_info().try_number})
    conn.execute("insert into testapp.ledger (workflow_id, step, pid) values (%s, 0, %s)",
                 [durable.step_info().workflow_id, os.getpid()])
    return "a\x00b"


@app.workflow(name="field_nul_in_step", max_attempts=1)
def field_nul_in_step(kind: str) -> Any:
    """One step that raises or returns NUL (kind: raise, return, txn)."""
    return field_nul_txn() if kind == "txn" else field_nul_step(kind)


@app.step()
def field_prepare() -> str:
    """Step 0: waits until the test writes the workflow's 'go' event."""
    event(0, "start")
    while not _go(durable.step_info().workflow_id):
        time.sleep(0.02)
    return "prepared"


@app.step()
def field_note(step: int) -> str:
    """A step that only writes its start event."""
    event(step, "start")
    return f"step {step}"


@app.workflow(name="field_swallows", max_attempts=1)
def field_swallows(catch: str) -> str:
    """prepare; try: optional except <catch>: pass; send_email: the reported pattern."""
    field_prepare()
    caught = Exception if catch == "Exception" else BaseException
    try:
        field_note(1)
    except caught:  # the user's code swallows what the optional step raised
        pass
    field_note(2)
    return "done"


@app.step(max_attempts=2, backoff_base=0.01, backoff_max=0.01)
def field_big(step: int) -> str:
    """Returns 5000 characters: over a max_payload_bytes of 2048."""
    event(step, "start", {"try": durable.step_info().try_number})
    return "x" * 5000


@app.workflow(name="field_big_then_swallow", max_attempts=1)
def field_big_then_swallow() -> str:
    """A step whose output the SQL refuses, then a step whose errors the code swallows."""
    field_big(0)
    try:
        field_note(1)
    except Exception:  # noqa: BLE001, S110 - the reported pattern: a swallowed error
        pass
    return "done"


@app.step()
def field_double(n: int) -> int:
    """A step without side effects."""
    return 2 * n


@app.workflow(name="field_threads", max_attempts=1)
def field_threads(n: int) -> list:
    """Maps a step over a thread pool: the steps would run outside the workflow's thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(field_double, range(n)))


# -- field failures (issue 9, items 7 and 8): workflow code that runs on after a step returned ----


def run_event(phase: str) -> None:
    """Write an event of the running workflow from its own code, outside any step."""
    run = durable.execution.current_run()
    _side().execute("insert into testapp.events (workflow_id, phase, pid) values (%s, %s, %s)",
                    [run.workflow_id, phase, os.getpid()])


def _times(phase: str) -> int:
    """How many events of a phase the running workflow has written."""
    run = durable.execution.current_run()
    return _side().execute("select count(*) from testapp.events where workflow_id = %s"
                           " and phase = %s", [run.workflow_id, phase]).fetchone()[0]


@app.workflow(name="field_sleep_between", max_attempts=1)
def field_sleep_between(seconds: float, wait_for_go: bool = False) -> list:
    """send_welcome(); time.sleep(seconds); send_followup(): step 0 (field_note, or
    field_prepare, which waits for the test's 'go', with wait_for_go), then the workflow's own
    code sleeps (on its first execution only) after writing a 'sleeping' event, then step 1."""
    first = field_prepare() if wait_for_go else field_note(0)
    run_event("sleeping")
    if _times("sleeping") == 1:
        time.sleep(seconds)
    return [first, field_note(1)]


@app.workflow(name="bouncer_recv", max_attempts=1)
def bouncer_recv() -> Any:
    """Park on a durable wait (recv) and return the message (test_pgbouncer)."""
    return durable.recv(timeout=60)
