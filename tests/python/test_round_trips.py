"""The round-trip budget of design.md, counted on the wire.

The worker runs in this process with connections that trace the wire protocol (libpq's trace).
From the trace come the calls each connection made (a Bind of a statement, or a Query message)
and its waits: a wait is a turn of the conversation, messages sent and then messages received,
the points where the client cannot go on until the server's answer is in. A call whose answer
the client reads later (the worker sends a step's checkpoint the moment the step returns, in
pipeline mode, and reads the answer with the run's next statement) costs no wait of its own.

Budget: claim a batch = 1, replay a recorded step = 0, record a new step = 1, finish = 1; a
transactional step adds only BEGIN, its own statements and COMMIT around its one checkpoint. A
run's last step costs no wait of its own either: the completion (durable.complete_and_claim,
which also claims the slot's next workflow) goes right behind its checkpoint, and one wait
reads both answers.
"""

from __future__ import annotations

import collections
import re
import tempfile
import threading
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import pq

import durable
from durable import db

from conftest import wait_for

rt_app = durable.Durable()


@rt_app.step()
def first(n: int) -> int:
    """A no-op step."""
    return n + 1


@rt_app.step()
def second(n: int) -> int:
    """A no-op step."""
    return n * 2


@rt_app.transaction()
def booked(conn: psycopg.Connection, n: int) -> int:
    """A transactional step with one statement of its own."""
    return conn.execute("select %s::int + 100", [n]).fetchone()[0]


@rt_app.workflow(name="three_steps")
def three_steps(n: int) -> int:
    """Three no-op steps."""
    return second(second(first(n)))


@rt_app.workflow(name="with_transaction")
def with_transaction(n: int) -> int:
    """A step, a transactional step, a step."""
    return second(booked(first(n)))


class TracedConnection(psycopg.Connection):
    """A connection whose protocol messages are traced to a file."""

    trace_file: Any
    role: str


class Wire:
    """What a connection sent and received, read from its libpq trace."""

    def __init__(self, lines: list[str]):
        self.calls: list[tuple[str, str | None]] = []  # (function or SQL command, first param)
        self.waits = 0  # turns: messages sent, then messages received
        statements: dict[str, str] = {}  # statement name -> its function
        sending = False
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                continue
            direction, message, rest = fields[0], fields[2], "\t".join(fields[3:])
            if direction == "F":
                sending = True
                if message == "Parse":
                    name = re.match(r' "([^"]*)"', rest).group(1)
                    statements[name] = _function(rest)
                elif message == "Bind":
                    name = re.match(r' "[^"]*" "([^"]*)"', rest).group(1)
                    first = re.search(r" \d+ '([^']*)'", rest)
                    self.calls.append((statements[name], first.group(1) if first else None))
                elif message == "Query":
                    self.calls.append((rest.split('"')[1].split()[0].lower(), None))
            elif direction == "B" and sending:
                sending = False
                self.waits += 1

    def functions(self) -> list[str]:
        """The calls' functions, in order."""
        return [f for f, _ in self.calls]


def _function(statement: str) -> str:
    match = re.search(r"durable\.(\w+)\(", statement)
    return match.group(1) if match else statement.split('"')[3].split()[0].lower()


class Recorder:
    """Hands the worker traced connections and reads what they sent."""

    def __init__(self) -> None:
        self.conns: list[TracedConnection] = []
        self.lock = threading.Lock()

    def connect(self, dsn: str, role: str) -> psycopg.Connection:
        # the settings of durable.db.connect: autocommit, psycopg's default prepare threshold
        conn = TracedConnection.connect(dsn, autocommit=True)
        conn.role = role
        conn.trace_file = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives with conn
        conn.pgconn.trace(conn.trace_file.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        with self.lock:
            self.conns.append(conn)
        return conn

    def wire(self, role: str) -> list[Wire]:
        """The Wire of each connection of a role."""
        wires = []
        for c in self.conns:
            if c.role == role:
                c.trace_file.flush()
                c.trace_file.seek(0)
                wires.append(Wire(c.trace_file.readlines()))
        return wires

    def calls(self, role: str) -> list[tuple[str, str | None]]:
        """The calls of the connections of a role."""
        return [call for w in self.wire(role) for call in w.calls]

    def waits(self, role: str) -> int:
        """The waits of the connections of a role."""
        return sum(w.waits for w in self.wire(role))


def _run_worker(dsn: str, queue: str, concurrency: int, handles: list,
                connections: int | None = None) -> Recorder:
    recorder = Recorder()
    rt_app.dsn = dsn
    worker = durable.Worker(rt_app, queues=[queue], concurrency=concurrency, lease_timeout=30,
                            poll_interval=0.2, grace=5, connect=recorder.connect,
                            connections=connections)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    try:
        # wait by reading the rows, not with handle.result(): its durable.watch notifies the
        # queue again for a run still pending, and the listener's claim for that notification
        # would race the main thread's first claim (splitting the batch this file counts)
        ids = [h.workflow_id for h in handles]
        with psycopg.connect(dsn, autocommit=True) as watcher:
            wait_for(lambda: watcher.execute(
                "select count(*) = %s from durable.workflows where id = any(%s)"
                " and status in ('succeeded', 'failed', 'cancelled')",
                [len(ids), ids]).fetchone()[0], timeout=60, what="the workflows to finish")
    finally:
        worker.stop(hurry=True)
        thread.join(20)
    assert not thread.is_alive()
    for slot in worker._threads:  # their connections closed: libpq's trace is all written
        slot.join(10)
    return recorder


def _per_workflow(recorder: Recorder, ids: list[str]) -> dict[str, collections.Counter]:
    counts = {wid: collections.Counter() for wid in ids}
    for function, wid in recorder.calls("slot"):
        if wid in counts:
            counts[wid][function] += 1
    return counts


@pytest.fixture
def rt_queue(conn: psycopg.Connection) -> str:
    name = f"rt-{uuid.uuid4().hex[:8]}"
    conn.execute("select * from durable.set_queue(%s)", [name])
    return name


def test_new_workflows_cost_one_claim_per_batch_one_wait_per_step_and_none_to_finish(
        dsn, conn, rt_queue):
    """Five workflows of three new steps, claimed together by a worker with five free slots:
    one claim for all five, then three waits per workflow (three checkpoints, each sent when its
    step returns, and the completion sent behind the last one)."""
    rt_app.dsn = dsn
    handles = rt_app.enqueue_many(three_steps, [[i] for i in range(5)], queue=rt_queue)
    recorder = _run_worker(dsn, rt_queue, 5, handles)
    assert [h.result() for h in handles] == [(i + 1) * 4 for i in range(5)]

    main = recorder.wire("main")
    claims = [f for w in main for f in w.functions() if f == "claim"]
    busy = conn.execute("select count(distinct claimed_at) from durable.workflows"
                        " where id = any(%s)", [[h.workflow_id for h in handles]]).fetchone()[0]
    assert busy == 1  # one claim brought the whole batch
    per_workflow = _per_workflow(recorder, [h.workflow_id for h in handles])
    for counts in per_workflow.values():
        # every step's checkpoint, sent when it returns; the finish, which also asks for the
        # slot's next workflow while the last claim found all it asked for
        assert counts == {"checkpoint": 3, "complete_and_claim": 1}
    slot_calls = recorder.calls("slot")
    assert len(slot_calls) == 5 * 4  # no call of the slots' own to claim
    # the budget: a wait per new step, none of its own for the finish; no BEGIN/COMMIT, no
    # prepares of their own (the first call of each statement prepares it in its own round
    # trip), no type lookups
    assert recorder.waits("slot") == 5 * 3
    assert recorder.waits("main") == len(recorder.calls("main"))  # a wait per call
    steps = conn.execute("select count(*) from durable.steps where workflow_id = any(%s)",
                         [[h.workflow_id for h in handles]]).fetchone()[0]
    assert steps == 15
    # the connections that only claim commit without waiting for the WAL flush; the slots'
    # connections, which record steps and finish workflows, keep waiting for it
    for role in ("main", "listener"):
        assert recorder.calls(role)[0][0] == "set", recorder.calls(role)
    assert "set" not in {f for f, _ in slot_calls}
    print(f"\nwaits per workflow of 3 new steps: claim 1/5 (batch of 5), 3 at the slot "
          f"(checkpoints 3 and complete_and_claim 1 sent); slot waits "
          f"{recorder.waits('slot')} for 5 workflows; main {recorder.waits('main')}"
          f" ({len(claims)} claims, of which {len(claims) - 1} idle polls)")


def test_replayed_steps_cost_no_round_trip(dsn, conn, rt_queue):
    """A run with two of its three steps recorded costs the claim and one wait: the new step's
    checkpoint, sent when it returns, and the finish behind it. Replaying costs nothing."""
    rt_app.dsn = dsn
    handle = rt_app.enqueue(three_steps, 10, queue=rt_queue)
    prep = f"prep-{uuid.uuid4().hex[:6]}"
    lease = conn.execute("select lease from durable.claim(%s, array[%s])",
                         [prep, rt_queue]).fetchone()[0]
    db.checkpoint(conn, handle.workflow_id, lease, 0, "first", 11)
    db.checkpoint(conn, handle.workflow_id, lease, 1, "second", 22)
    db.release(conn, prep)

    recorder = _run_worker(dsn, rt_queue, 1, [handle])
    assert handle.result() == 44
    assert [f for f, _ in recorder.calls("slot")] == ["checkpoint", "complete_and_claim"]
    assert recorder.waits("slot") == 1
    assert conn.execute("select count(*) from durable.steps where workflow_id = %s",
                        [handle.workflow_id]).fetchone()[0] == 3
    print("\nwaits for a run with 2 recorded steps and 1 new: 1 (its checkpoint and "
          "complete_and_claim, with the claim of the slot's next workflow), replay 0")


def test_a_transactional_step_adds_only_its_transaction(dsn, rt_queue):
    """step, transactional step, step: the first step's checkpoint (answered before the
    transactional step begins), the transactional step's own checkpoint, and the last step's
    checkpoint with the finish behind it; the transactional step's BEGIN, own statement and
    COMMIT are the only other waits."""
    rt_app.dsn = dsn
    handle = rt_app.enqueue(with_transaction, 1, queue=rt_queue)
    recorder = _run_worker(dsn, rt_queue, 1, [handle])
    assert handle.result() == 204
    functions = [f for f, _ in recorder.calls("slot")]
    assert functions == ["checkpoint", "begin", "select", "checkpoint", "commit", "checkpoint",
                         "complete_and_claim"]
    waits = recorder.waits("slot")
    assert waits == 3 + 3  # 3 new steps, and BEGIN, select, COMMIT
    print(f"\nwaits for step + transactional step + step: slot {waits} (3 steps, the step's "
          "own select, BEGIN, COMMIT)")


def test_hot_calls_are_prepared_once_per_connection_in_their_first_round_trip(dsn, rt_queue):
    """Twelve workflows on one slot: checkpoint and complete_and_claim are prepared once on its
    connection, in the round trip of their first call, and every call is still one wait per
    step and none for the finish."""
    rt_app.dsn = dsn
    handles = rt_app.enqueue_many(three_steps, [[i] for i in range(12)], queue=rt_queue)
    recorder = _run_worker(dsn, rt_queue, 1, handles)
    assert [h.result() for h in handles] == [(i + 1) * 4 for i in range(12)]
    (wire,) = recorder.wire("slot")
    counts = collections.Counter(wire.functions())
    assert counts == {"checkpoint": 36, "complete_and_claim": 12}
    assert wire.waits == 36
    print(f"\nslot waits for 12 workflows on one connection: {wire.waits} "
          f"({sum(counts.values())} calls, prepares included)")


def test_slots_sharing_a_pool_keep_the_budget(dsn, rt_queue):
    """Five slots on a pool of two connections (Worker(connections=2)): the same calls per
    workflow and the same waits (a wait per new step, none of its own for the finish) as with a
    connection per slot; a run gives its connection back while its steps run, and a checkpoint
    keeps it only until its answer is read."""
    handles = rt_app.enqueue_many(three_steps, [[i] for i in range(5)], queue=rt_queue)
    recorder = _run_worker(dsn, rt_queue, 5, handles, connections=2)
    assert [h.result() for h in handles] == [(i + 1) * 4 for i in range(5)]
    assert len(recorder.wire("slot")) <= 2  # the pool's connections
    per_workflow = _per_workflow(recorder, [h.workflow_id for h in handles])
    for counts in per_workflow.values():
        assert counts == {"checkpoint": 3, "complete_and_claim": 1}
    slot_calls = recorder.calls("slot")
    assert len(slot_calls) == 5 * 4
    assert recorder.waits("slot") == 5 * 3
    print(f"\n5 slots on 2 pooled connections: slot waits {recorder.waits('slot')} for 5 "
          "workflows of 3 new steps")
