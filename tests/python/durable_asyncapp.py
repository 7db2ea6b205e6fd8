"""The app of the asyncio tests' worker processes (`durable worker durable_asyncapp:app`).

Steps that matter write a row to asyncapp.effects through a connection of their own (committed
at once, so a test sees it even when the worker is SIGKILLed right after): the tests count how
many times each step ran. Gates are files the test creates to let a step go on.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import psycopg

import durable
from durable import aio

app = durable.Durable(os.environ.get("DATABASE_URL"))

SCHEMA = """
create schema if not exists asyncapp;
create table if not exists asyncapp.effects (
  id bigint generated always as identity primary key,
  workflow_id text not null,
  step text not null,
  phase text not null default 'ran',
  pid integer not null
);
create table if not exists asyncapp.ledger (
  id bigint generated always as identity primary key,
  workflow_id text not null,
  step text not null,
  pid integer not null
);
"""

# in-process state of the barrier step (one worker process, one event loop)
_arrived: dict[str, int] = {}


async def _effect(step: str, phase: str = "ran") -> None:
    info = durable.step_info()
    async with await psycopg.AsyncConnection.connect(app.dsn or "", autocommit=True) as conn:
        await conn.execute("insert into asyncapp.effects (workflow_id, step, phase, pid)"
                           " values (%s, %s, %s, %s)", [info.workflow_id, step, phase,
                                                        os.getpid()])


async def _gate(path: str) -> None:
    while not os.path.exists(path):
        await asyncio.sleep(0.05)


@app.step()
async def fx(name: str, delay: float = 0.0) -> str:
    """Record that it ran, then return its name (after delay seconds)."""
    await _effect(name)
    await asyncio.sleep(delay)
    return name


@app.step()
async def gated(name: str, gate: str) -> str:
    """Record that it ran, then wait for the gate file to exist."""
    await _effect(name)
    await _gate(gate)
    return name


@app.step()
def sync_double(x: int) -> dict[str, Any]:
    """A sync step: run in a thread when an async workflow awaits it."""
    return {"double": 2 * x, "pid": os.getpid()}


@app.step()
async def async_inc(x: int) -> int:
    await asyncio.sleep(0.01)
    return x + 1


@app.workflow()
async def pipeline(x: int) -> dict[str, Any]:
    """Async steps, a sync step, and two steps gathered (positions in call order)."""
    a = await async_inc(x)
    b = await sync_double(a)
    first, second = await asyncio.gather(fx("slow", 0.3), fx("quick"))
    return {"a": a, "b": b["double"], "pid": b["pid"], "gathered": [first, second]}


@app.workflow()
def sync_pipeline(x: int) -> dict[str, Any]:
    """A sync workflow calling an async step (run with asyncio.run in its thread)."""
    return {"inc": async_inc(x), "pid": os.getpid()}


@app.workflow()
async def gathered(gate: str) -> list[str]:
    """Three steps started together: the first (position 0) waits for the gate, the two after
    it finish and are recorded first; then one more step."""
    names = await asyncio.gather(gated("c", gate), fx("a"), fx("b"))
    return [*names, await fx("d")]


@app.step()
async def barrier(batch: str, n: int, gate: str) -> dict[str, Any]:
    """Wait (asyncio.sleep) until n runs of batch are in this step in this process and the gate
    exists: n at once proves they run concurrently."""
    _arrived[batch] = _arrived.get(batch, 0) + 1
    while _arrived[batch] < n or not os.path.exists(gate):
        await asyncio.sleep(0.05)
    return {"pid": os.getpid(), "arrived": _arrived[batch]}


@app.workflow()
async def crowd(batch: str, n: int, gate: str) -> dict[str, Any]:
    return await barrier(batch, n, gate)


@app.step()
async def forever(name: str) -> None:
    """Record its start, sleep an hour; record its cancellation when cancelled."""
    await _effect(name, "started")
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.shield(_effect(name, "cancelled"))
        raise


@app.workflow()
async def long_one(name: str) -> None:
    await forever(name)


class CardDeclined(Exception):
    pass


@app.step(max_attempts=1)
async def boom(delay: float) -> None:
    await asyncio.sleep(delay)
    raise CardDeclined("declined")


@app.workflow(max_attempts=1)
async def failing(delay: float) -> None:
    await boom(delay)


@app.step()
async def nap(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


@app.workflow()
async def napper(seconds: float) -> float:
    return await nap(seconds)


@app.workflow()
async def setter(value: int) -> None:
    await durable.set_event("k", value)


@app.workflow()
async def waiter(source: str) -> dict[str, Any]:
    """Durable waits in an async workflow: sleep, set_event, recv (parks), get_event (the
    typed durable.aio variants and the durable.* functions, awaited)."""
    await aio.sleep(0.1)
    await durable.set_event("ready", {"at": "ready"})
    message = await aio.recv("go", timeout=60)
    got = await durable.get_event(source, "k", timeout=60)
    return {"message": message, "event": got}


@app.workflow()
async def child(x: int) -> int:
    return await async_inc(x)


@app.workflow()
async def parent(x: int) -> list[int]:
    """Children started from an async workflow (app.enqueue and enqueue_many are awaited), and
    their results (durable waits)."""
    one = await app.enqueue(child, x)
    many = await app.enqueue_many(child, [[x + 10], [x + 20]])
    done = await aio.wait_all(many)
    return [await one.result(), *(c.output for c in done)]


@app.workflow()
async def sleeper_then_effect(seconds: float) -> str:
    await durable.sleep(seconds)
    return await fx("after-sleep")


@app.step()
async def hop(i: int) -> int:
    await asyncio.sleep(0.001)
    return i + 1


@app.workflow()
async def hops(n: int) -> int:
    """n steps one after the other, each a short await: many statements for the tests of the
    runner's pipelined connections."""
    x = 0
    for _ in range(n):
        x = await hop(x)
    return x


@app.step(max_attempts=1)
async def big(size: int) -> str:
    return "x" * size


@app.workflow(max_attempts=1)
async def too_big(size: int) -> str:
    """A step whose output the SQL refuses when over durable.settings.max_payload_bytes."""
    return await big(size)


@app.transaction()
async def book(conn: psycopg.AsyncConnection[Any], name: str, gate: str) -> int:
    """An async transactional step: a ledger row written on its own connection, in its
    transaction; that it ran recorded on another connection (committed at once); then it waits
    for the gate, still inside its transaction (a SIGKILL there loses the row and the
    checkpoint together)."""
    info = durable.step_info()
    await conn.execute("insert into asyncapp.ledger (workflow_id, step, pid) values (%s, %s, %s)",
                       [info.workflow_id, name, os.getpid()])
    await _effect(name)
    await _gate(gate)
    return os.getpid()


@app.workflow()
async def booking(gate: str, after_gate: str) -> list[Any]:
    """The transactional step, then a plain step that waits for its own gate (a SIGKILL there
    comes after the transactional step committed)."""
    first = await book("book", gate)
    after = await gated("after", after_gate)
    return [first, after]


@app.transaction(max_attempts=3, backoff_base=0.01, backoff_max=0.01)
async def flaky_book(conn: psycopg.AsyncConnection[Any], name: str) -> int:
    """Writes its ledger row, then fails on its first try: that try's row is rolled back."""
    info = durable.step_info()
    await conn.execute("insert into asyncapp.ledger (workflow_id, step, pid) values (%s, %s, %s)",
                       [info.workflow_id, name, os.getpid()])
    if info.try_number == 1:
        raise CardDeclined("first try")
    return info.try_number


@app.workflow()
async def flaky_booking() -> int:
    return await flaky_book("flaky")


@app.transaction()
async def note(conn: psycopg.AsyncConnection[Any], text: str) -> str:
    """Writes a ledger row for workflow 'plain' (called outside workflows)."""
    await conn.execute("insert into asyncapp.ledger (workflow_id, step, pid) values"
                       " ('plain', %s, %s)", [text, os.getpid()])
    return text


@app.transaction(max_attempts=1)
async def severed(conn: psycopg.AsyncConnection[Any], marker: str) -> int:
    """Writes its ledger row, then, the first time (no 'severed' effect yet), ends its own
    connection's session (pg_terminate_backend): the try dies with its connection, uncommitted,
    and runs again on a new one without using a try (max_attempts=1)."""
    info = durable.step_info()
    await conn.execute("insert into asyncapp.ledger (workflow_id, step, pid) values (%s, %s, %s)",
                       [info.workflow_id, marker, os.getpid()])
    async with await psycopg.AsyncConnection.connect(app.dsn or "", autocommit=True) as other:
        cur = await other.execute("select count(*) from asyncapp.effects where workflow_id = %s"
                                  " and step = 'severed'", [info.workflow_id])
        row = await cur.fetchone()
    if row is not None and row[0] == 0:
        await _effect("severed")
        await conn.execute("select pg_terminate_backend(pg_backend_pid())")
    return info.try_number


@app.workflow(max_attempts=1)
async def severing() -> int:
    return await severed("severed")


@app.workflow(max_attempts=1)
def sync_booking() -> int:
    """A def workflow calling an async def transactional step: refused (TypeError)."""
    return flaky_book("sync")  # type: ignore[return-value]


def now() -> float:
    return time.time()
