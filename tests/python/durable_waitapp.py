"""The app the worker processes of test_waiting.py run (`durable worker durable_waitapp:app`).

Workflows that sleep, exchange messages, publish and await events and start children. Steps
write what they do to waitapp.events through a connection of their own (committed at once, so
a test sees it even when the worker is killed right after), with the worker's pid.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

import durable

app = durable.Durable(os.environ.get("DATABASE_URL"))
_local = threading.local()

SCHEMA = """
create schema if not exists waitapp;
create table if not exists waitapp.events (
  id bigint generated always as identity primary key,
  workflow_id text not null,
  phase text not null,
  pid integer not null,
  detail jsonb,
  at timestamptz not null default clock_timestamp()
);
"""


def _side() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed or conn.broken:
        conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        _local.conn = conn
    return conn


def _count(workflow_id: str, phase: str) -> int:
    return _side().execute("select count(*) from waitapp.events where workflow_id = %s"
                           " and phase = %s", [workflow_id, phase]).fetchone()[0]


@app.step()
def note(phase: str, detail: Any = None, block_first: bool = False) -> dict:
    """Writes an event; with block_first, its first execution then blocks (until the test
    SIGKILLs the worker, or 60 s)."""
    info = durable.step_info()
    _side().execute("insert into waitapp.events (workflow_id, phase, pid, detail)"
                    " values (%s, %s, %s, %s)",
                    [info.workflow_id, phase, os.getpid(), Jsonb(detail)])
    if block_first and _count(info.workflow_id, phase) == 1:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not durable.should_stop():
            time.sleep(0.05)
    return {"pid": os.getpid(), "phase": phase}


@app.step()
def busy(seconds: float) -> str:
    """Works for up to seconds, returning early when told to stop."""
    note_event("busy")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if durable.should_stop():
            note_event("told to stop")
            return "stopped"
        time.sleep(0.05)
    return "done"


def note_event(phase: str) -> None:
    """An event of the running step, outside the step API."""
    info = durable.step_info()
    _side().execute("insert into waitapp.events (workflow_id, phase, pid) values (%s, %s, %s)",
                    [info.workflow_id, phase, os.getpid()])


@app.workflow(name="wait_sleeper", max_attempts=1)
def wait_sleeper(seconds: float) -> str:
    """Sleeps durably, then returns."""
    durable.sleep(seconds)
    return "slept"


@app.workflow(name="wait_receiver", max_attempts=1)
def wait_receiver(count: int, topic: str = "default", block_first: bool = False) -> list:
    """Receives count messages of topic, noting each in a step (with block_first, the first
    note blocks on its first execution: the worker is killed there)."""
    got = []
    for i in range(count):
        message = durable.recv(topic)
        note("received", {"i": i, "message": message}, block_first and i == 0)
        got.append(message)
    return got


@app.workflow(name="wait_recv_timeout", max_attempts=1)
def wait_recv_timeout(timeout: float) -> dict:
    """Receives on a topic nobody sends to, with a timeout."""
    return {"got": durable.recv("nobody-sends-this", timeout=timeout)}


@app.workflow(name="wait_sender", max_attempts=1)
def wait_sender(destination: str, block_after: bool) -> int:
    """Sends one message, then (with block_after) a step that blocks on its first execution."""
    message_id = durable.send(destination, {"from": "wait_sender"}, topic="mail")
    note("sent", {"message_id": message_id}, block_after)
    return message_id


@app.workflow(name="wait_event_setter", max_attempts=1)
def wait_event_setter(key: str) -> str:
    """Waits for a message, then publishes event key with it."""
    message = durable.recv("go")
    durable.set_event(key, message)
    return "set"


@app.workflow(name="wait_event_waiter", max_attempts=1)
def wait_event_waiter(target: str, key: str) -> Any:
    """Waits durably for event key of workflow target."""
    return durable.get_event(target, key, timeout=120)


@app.workflow(name="wait_child", max_attempts=1)
def wait_child(n: int) -> int:
    """A child: one step, then its output."""
    note("child", {"n": n})
    return 2 * n


@app.workflow(name="wait_child_fails", max_attempts=1)
def wait_child_fails(n: int) -> int:
    """A child that fails."""
    raise ValueError(f"child {n} fails on purpose")


@app.workflow(name="wait_child_waits", max_attempts=1)
def wait_child_waits() -> Any:
    """A child that waits for a message that never comes."""
    return durable.recv("never")


@app.workflow(name="wait_parent", max_attempts=1)
def wait_parent(n: int, queue: str) -> dict:
    """Starts n wait_child children on queue, then one that fails; waits for all of them in one
    wait (wait_all), and for the first one again through its handle."""
    handles = [app.enqueue(wait_child, i, queue=queue) for i in range(n)]
    failing = app.enqueue(wait_child_fails, n, queue=queue)
    results = durable.wait_all([*handles, failing])
    try:
        failing.result()
        failed = None
    except durable.WorkflowFailed as exc:
        failed = exc.error["message"]
    return {"sum": sum(r.output for r in results[:n]),
            "statuses": sorted({r.status for r in results}),
            "first": handles[0].result(), "failed": failed,
            "ids": [h.workflow_id for h in handles]}


@app.workflow(name="wait_fan_out", max_attempts=1)
def wait_fan_out(n: int) -> dict:
    """Starts n wait_child children in one step (app.enqueue_many inside a workflow: one
    durable.start_children call; they go to this workflow's queue) and waits for them in one
    wait."""
    handles = app.enqueue_many(wait_child, [[i] for i in range(n)])
    results = durable.wait_all(handles)
    return {"sum": sum(r.output for r in results), "ids": [h.workflow_id for h in handles]}


@app.workflow(name="wait_parent_of_waiters", max_attempts=1)
def wait_parent_of_waiters(n: int, detached: int, queue: str) -> list:
    """Starts n children on queue that wait forever (and detached ones), then waits for the
    first n."""
    handles = [app.enqueue(wait_child_waits, queue=queue) for _ in range(n)]
    for _ in range(detached):
        app.enqueue(wait_child_waits, queue=queue, detached=True)
    return [r.status for r in durable.wait_all(handles)]


@app.workflow(name="wait_busy", max_attempts=1)
def wait_busy(seconds: float) -> list:
    """Steps that work for a while: a deadline cancels it on the way."""
    return [busy(seconds), busy(seconds)]


@app.workflow(name="wait_default_timeout", max_attempts=1, timeout=3600)
def wait_default_timeout() -> str:
    """Has a registered default timeout (an hour)."""
    return "ok"
