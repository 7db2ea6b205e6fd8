"""The round-trip budget of design.md, counted at the client.

The worker runs in this process with connections that log every statement they send (a cursor
class) and trace the wire protocol (libpq's trace): a round trip is one Sync (extended
protocol) or one Query (simple protocol) message. A statement run a fifth time on a connection
is prepared first, in one round trip of its own, once per connection. Budget: claim a batch = 1,
replay a recorded step = 0, record a new step = 1, finish = 1; a transactional step adds only
BEGIN, its own statements and COMMIT around its one checkpoint. The worker does better than the
budget where it can: a run's last step is recorded by the statement that finishes the run, and
that statement also claims the slot's next workflow (durable.complete_and_claim).
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


class CountingCursor(psycopg.Cursor):
    """Logs (statement, first parameter, rows) of every execute on its connection."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> CountingCursor:
        text = query if isinstance(query, str) else query.as_string(self.connection)
        try:
            return super().execute(query, params, **kwargs)
        finally:
            first_param = None
            if isinstance(params, (list, tuple)) and params:
                first_param = params[0]
            elif isinstance(params, dict):
                first_param = params.get("workflow_id")
            self.connection.log.append((_function(text), first_param, self.rowcount))


def _function(statement: str) -> str:
    match = re.search(r"durable\.(\w+)\(", statement)
    return match.group(1) if match else statement.split()[0].lower()


class CountingConnection(psycopg.Connection):
    """A connection that logs its statements and traces its protocol messages."""

    log: list
    trace_file: Any
    role: str


class Recorder:
    """Hands the worker counting connections and adds up what they sent."""

    def __init__(self) -> None:
        self.conns: list[CountingConnection] = []
        self.lock = threading.Lock()

    def connect(self, dsn: str, role: str) -> psycopg.Connection:
        # the settings of durable.db.connect: autocommit, psycopg's default prepare threshold
        conn = CountingConnection.connect(dsn, autocommit=True, cursor_factory=CountingCursor)
        conn.log, conn.role = [], role
        conn.trace_file = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives with conn
        conn.pgconn.trace(conn.trace_file.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        with self.lock:
            self.conns.append(conn)
        return conn

    def statements(self, role: str) -> list[tuple[str, Any, int]]:
        return [s for c in self.conns if c.role == role for s in c.log]

    def wire_round_trips(self, role: str) -> int:
        """Sync and Query messages sent by the connections of a role, from libpq's trace."""
        total = 0
        for c in self.conns:
            if c.role != role:
                continue
            c.trace_file.flush()
            c.trace_file.seek(0)
            total += sum(1 for line in c.trace_file
                         if re.match(r"F\t\d+\t(Sync|Query)\b", line))
        return total


def _run_worker(dsn: str, queue: str, concurrency: int, handles: list) -> Recorder:
    recorder = Recorder()
    rt_app.dsn = dsn
    worker = durable.Worker(rt_app, queues=[queue], concurrency=concurrency, lease_timeout=30,
                            poll_interval=0.2, grace=5, connect=recorder.connect)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    try:
        for handle in handles:
            handle.result(timeout=20)
    finally:
        worker.stop(hurry=True)
        thread.join(20)
    assert not thread.is_alive()
    return recorder


def _per_workflow(recorder: Recorder, ids: list[str]) -> dict[str, collections.Counter]:
    counts = {wid: collections.Counter() for wid in ids}
    for function, wid, _rows in recorder.statements("slot"):
        if wid in counts:
            counts[wid][function] += 1
    return counts


@pytest.fixture
def rt_queue(conn: psycopg.Connection) -> str:
    name = f"rt-{uuid.uuid4().hex[:8]}"
    conn.execute("select * from durable.set_queue(%s)", [name])
    return name


def test_new_workflows_cost_one_claim_per_batch_one_call_per_step_and_one_finish(
        dsn, conn, rt_queue):
    """Five workflows of three new steps, claimed together by a worker with five free slots."""
    rt_app.dsn = dsn
    handles = rt_app.enqueue_many(three_steps, [[i] for i in range(5)], queue=rt_queue)
    recorder = _run_worker(dsn, rt_queue, 5, handles)
    assert [h.result() for h in handles] == [(i + 1) * 4 for i in range(5)]

    claims = [rows for function, _, rows in recorder.statements("main") if function == "claim"]
    assert [r for r in claims if r] == [5]  # one claim brought the whole batch
    per_workflow = _per_workflow(recorder, [h.workflow_id for h in handles])
    for counts in per_workflow.values():
        # the first two steps' checkpoints; the third is recorded with the finish, which also
        # asks for the slot's next workflow while the last claim found all it asked for
        assert counts == {"checkpoint": 2, "complete_and_claim": 1}
    slot_statements = recorder.statements("slot")
    assert len(slot_statements) == 5 * 3  # no statement of the slots' own to claim
    steps = conn.execute(
        "select count(*), count(*) filter (where s.created_at = w.finished_at)"
        " from durable.steps s join durable.workflows w on w.id = s.workflow_id"
        " where w.id = any(%s)", [[h.workflow_id for h in handles]]).fetchone()
    assert steps == (15, 5)  # every step recorded; each last one in the finishing transaction
    # nothing else went over the wire: no BEGIN/COMMIT, no prepares, no type lookups
    assert recorder.wire_round_trips("slot") == len(slot_statements)
    assert recorder.wire_round_trips("main") == len(recorder.statements("main"))
    # the connections that only claim commit without waiting for the WAL flush; the slots'
    # connections, which record steps and finish workflows, keep waiting for it
    for role in ("main", "listener"):
        assert recorder.statements(role)[0][0] == "set", recorder.statements(role)
    assert "set" not in {f for f, _, _ in slot_statements}
    print(f"\nround trips per workflow of 3 new steps: claim 1/5 (batch of 5), "
          f"checkpoint 2, complete_and_claim 1 (with the last step); slot wire round trips {recorder.wire_round_trips('slot')}"
          f" for 5 workflows; main {recorder.wire_round_trips('main')}"
          f" ({len(claims)} claims, of which {len(claims) - 1} idle polls)")


def test_replayed_steps_cost_no_round_trip(dsn, conn, rt_queue):
    """A run with two of its three steps recorded costs the claim and the finish, which records
    the new step: replaying costs nothing."""
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
    assert _per_workflow(recorder, [handle.workflow_id])[handle.workflow_id] == {
        "complete_and_claim": 1}
    assert [f for f, _, _ in recorder.statements("slot")] == ["complete_and_claim"]
    assert recorder.wire_round_trips("slot") == 1
    assert conn.execute("select count(*) from durable.steps where workflow_id = %s",
                        [handle.workflow_id]).fetchone()[0] == 3
    print("\nround trips for a run with 2 recorded steps and 1 new: 1 (complete_and_claim, "
          "with the new step and the claim of the slot's next workflow), replay 0")


def test_a_transactional_step_adds_only_its_transaction(dsn, rt_queue):
    """step, transactional step, step: the first step's checkpoint (sent before the
    transactional step begins), the transactional step's own checkpoint, and the finish with the
    last step; the transactional step's BEGIN, own statement and COMMIT are the only other round
    trips."""
    rt_app.dsn = dsn
    handle = rt_app.enqueue(with_transaction, 1, queue=rt_queue)
    recorder = _run_worker(dsn, rt_queue, 1, [handle])
    assert handle.result() == 204
    functions = [f for f, _, _ in recorder.statements("slot")]
    assert functions == ["checkpoint", "select", "checkpoint", "complete_and_claim"]
    wire = recorder.wire_round_trips("slot")
    assert wire == len(functions) + 2  # + BEGIN and COMMIT
    print(f"\nround trips for step + transactional step + step: slot {wire} "
          "(2 checkpoints, 1 complete_and_claim, the step's own select, BEGIN, COMMIT)")


def test_hot_calls_are_prepared_once_per_connection_then_cost_one_round_trip(dsn, rt_queue):
    """Twelve workflows on one slot: checkpoint and complete_and_claim each run five times or
    more on its connection, so each is prepared once (one extra round trip) and every
    call after that is still one round trip."""
    rt_app.dsn = dsn
    handles = rt_app.enqueue_many(three_steps, [[i] for i in range(12)], queue=rt_queue)
    recorder = _run_worker(dsn, rt_queue, 1, handles)
    assert [h.result() for h in handles] == [(i + 1) * 4 for i in range(12)]
    counts = collections.Counter(f for f, _, _ in recorder.statements("slot"))
    assert counts == {"checkpoint": 24, "complete_and_claim": 12}
    prepared = sum(1 for n in counts.values() if n >= 5)
    assert prepared == 2
    assert recorder.wire_round_trips("slot") == sum(counts.values()) + prepared
    print(f"\nslot round trips for 12 workflows on one connection: {sum(counts.values())} "
          f"calls + {prepared} prepares")
