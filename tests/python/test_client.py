"""The client API without a worker: enqueue, handles, and SQL errors as named exceptions."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import durable
from durable import db
from durable.execution import args_of


def _id() -> str:
    return f"c-{uuid.uuid4().hex[:12]}"


def test_enqueue_returns_a_handle_and_is_idempotent_by_id(app, queue):
    """The same workflow id again returns the existing run (created = False), writes nothing."""
    wid = _id()
    first = app.enqueue("script", {"steps": []}, workflow_id=wid, queue=queue)
    again = app.enqueue("script", {"steps": [{"kind": "plain"}]}, workflow_id=wid, queue=queue)
    assert (first.workflow_id, first.created) == (wid, True)
    assert (again.workflow_id, again.created) == (wid, False)
    assert first.status() == "pending"
    assert first.get().attempt == 1


def test_enqueue_joins_the_callers_transaction(app, dsn, queue):
    """With conn=, the workflow exists only if the caller's transaction commits."""
    rolled_back, committed = _id(), _id()
    with psycopg.connect(dsn) as conn:  # not autocommit: a transaction is open
        app.enqueue("script", {"steps": []}, workflow_id=rolled_back, queue=queue, conn=conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.rollback()
        app.enqueue("script", {"steps": []}, workflow_id=committed, queue=queue, conn=conn)
        conn.commit()
    with pytest.raises(durable.UnknownWorkflow):
        app.handle(rolled_back).status()
    assert app.handle(committed).status() == "pending"


def test_enqueue_passes_delay_priority_and_attempts_to_the_sql(app, conn, queue):
    """delay, priority and max_attempts land on the run as the SQL stored them."""
    handle = app.enqueue("script", {"steps": []}, queue=queue, delay=3600, priority=7,
                         max_attempts=5)
    row = conn.execute("select priority, max_attempts, run_at - created_at > interval '59 min'"
                       " from durable.runs where id = %s", [handle.workflow_id]).fetchone()
    assert row == (7, 5, True)


def test_result_waits_with_a_bounded_poll_and_times_out(app, queue):
    """result(timeout) polls durable.result with a growing delay and gives up with TimeoutError;
    a finished run's output, failure or cancellation is returned or raised."""
    handle = app.enqueue("script", {"steps": []}, queue=queue)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="still pending"):
        handle.result(timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 5
    assert handle.cancel() == "cancelled"
    with pytest.raises(durable.WorkflowCancelled):
        handle.result(timeout=1)


def test_enqueue_many_is_one_batch(app, conn, queue):
    """enqueue_many starts one run per argument list, in order, with the decorator's options."""
    handles = app.enqueue_many("script", [[{"steps": [], "n": i}] for i in range(3)], queue=queue)
    rows = conn.execute("select input, max_attempts from durable.runs where id = any(%s)"
                        " order by (input->0->>'n')::int", [[h.workflow_id for h in handles]])
    assert [r for r in rows] == [([{"steps": [], "n": i}], 1) for i in range(3)]


@settings(max_examples=25, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10))
def test_any_json_input_becomes_the_same_arguments(value):
    """The input convention: an array is the argument list, null none, an object with exactly
    the keys "$args" and "$kwargs" positional and keyword arguments (test_kwargs.py), anything
    else one positional argument."""
    if isinstance(value, dict) and value.keys() == {"$args", "$kwargs"}:
        return
    args = args_of(value)
    assert args == ([] if value is None else value if isinstance(value, list) else [value], {})


# -- SQL errors as named exceptions ------------------------------------------------------------


def _claimed(conn, queue: str) -> tuple[str, int]:
    wid = db.enqueue(conn, "script", [], queue=queue)[0]
    lease = db.claim(conn, f"w-{uuid.uuid4().hex[:6]}", [queue], 1, 30)[0].lease
    return wid, lease


def _checkpoint_after_cancel(conn, queue: str) -> None:
    wid, lease = _claimed(conn, queue)
    db.cancel(conn, wid)
    db.checkpoint(conn, wid, lease, 0, "s")


def _two_names_at_one_position(conn, queue: str) -> None:
    wid, lease = _claimed(conn, queue)
    db.checkpoint(conn, wid, lease, 0, "a")
    db.checkpoint(conn, wid, lease, 0, "b")


def _cancel_after_success(conn, queue: str) -> None:
    wid, lease = _claimed(conn, queue)
    db.complete(conn, wid, lease, 1)
    db.cancel(conn, wid)


@pytest.mark.parametrize("code, cls, call, message", [
    ("DU001", durable.LeaseLost,
     lambda c, q: db.checkpoint(c, _claimed(c, q)[0], -1, 0, "s"), "is lost"),
    ("DU002", durable.Cancelled,
     _checkpoint_after_cancel, "was cancelled"),
    ("DU003", durable.UnknownWorkflow, lambda c, q: db.cancel(c, "no-such-workflow"),
     "unknown workflow no-such-workflow"),
    ("DU004", durable.UnknownQueue, lambda c, q: db.enqueue(c, "script", queue="no-such-queue"),
     "unknown queue no-such-queue"),
    ("DU005", durable.Nondeterminism,
     _two_names_at_one_position, "is recorded as a, not b"),
    ("DU006", durable.IdConflict,
     lambda c, q: [db.enqueue(c, n, queue=q, workflow_id="dup-" + q) for n in ("x", "y")],
     "already used by a workflow named x"),
    ("DU008", durable.PayloadTooLarge,
     lambda c, q: db.enqueue(c, "script", "x" * 2_000_000, queue=q), "over the limit"),
    ("DU010", durable.MissingArgument, lambda c, q: db.enqueue(c, "", queue=q),
     "must not be null or empty"),
    ("DU011", durable.BadArgument, lambda c, q: db.enqueue(c, "script", queue=q, delay=-1),
     "must not be negative"),
    ("DU012", durable.MalformedBatch, lambda c, q: db.enqueue_batch(c, [{"nme": "x"}]),
     "not an object with known keys"),
    ("DU013", durable.AlreadyFinished,
     _cancel_after_success, "already finished"),
    ("DU014", durable.NotRetryable,
     lambda c, q: db.retry(c, db.enqueue(c, "script", queue=q)[0]),
     "only failed or cancelled"),
])
def test_sql_errors_arrive_as_named_exceptions(conn, queue, code, cls, call, message):
    """Each DU SQLSTATE raises its own class (aliased by its code) with the server's message."""
    with pytest.raises(cls) as raised:
        call(conn, queue)
    error = raised.value
    assert isinstance(error, getattr(durable, code))
    assert isinstance(error, durable.SQLError)
    assert error.sqlstate == code
    assert message in error.message
    assert isinstance(error.__cause__, psycopg.Error)
    assert error.__cause__.diag.message_primary == error.message


def test_lease_refusals_carry_their_detail(conn, queue):
    """DU001 and DU002 carry the server's JSON DETAIL as .detail: the reason, the workflow, the
    lease sent (a string) and the status now; other refusals have none."""
    wid, lease = _claimed(conn, queue)
    with pytest.raises(durable.LeaseLost) as lost:
        db.checkpoint(conn, wid, lease + 1, 0, "s")
    assert lost.value.detail == {"reason": "lease_lost", "workflow_id": wid,
                                 "lease": str(lease + 1), "status": "running"}
    db.cancel(conn, wid)
    with pytest.raises(durable.Cancelled) as cancelled:
        db.checkpoint(conn, wid, lease, 0, "s")
    assert cancelled.value.detail == {"reason": "cancelled", "workflow_id": wid,
                                      "lease": str(lease), "status": "cancelled"}
    with pytest.raises(durable.UnknownWorkflow) as unknown:
        db.cancel(conn, "no-such-workflow")
    assert unknown.value.detail is None


def test_fake_clock_refusal_is_du009(dsn):
    """DU009 comes from a non-superuser pinning durable.fake_now."""
    role = f"durable_py_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"create role {role} in role durable_client")
        try:
            with conn.transaction():
                conn.execute(f"set local session authorization {role}")
                conn.execute("set local durable.fake_now = '2030-01-01 00:00:00+00'")
                with pytest.raises(durable.FakeClock, match="not a superuser"):
                    db.enqueue(conn, "script")
                raise psycopg.Rollback()
        finally:
            conn.execute(f"drop role {role}")
