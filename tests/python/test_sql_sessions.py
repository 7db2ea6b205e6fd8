"""Two real sessions against the SQL: claim exclusivity and a reclaim racing a late checkpoint.

Time is moved, not waited for: a session pins durable.fake_now (allowed to a superuser, as the
tests run) to a moment after the first worker's lease has expired.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

import durable
from durable import db

LATER = "5 minutes"  # well past the 30 s leases used below


@pytest.fixture
def two(dsn: str) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    """Two sessions in autocommit mode (each call its own transaction unless one is opened)."""
    with psycopg.connect(dsn, autocommit=True) as a, psycopg.connect(dsn, autocommit=True) as b:
        for c in (a, b):
            c.execute("set statement_timeout = '10s'")
        yield a, b


def _enqueue(conn: psycopg.Connection, queue: str, n: int) -> list[str]:
    return [wid for wid, _ in db.enqueue_batch(conn, [{"name": "w", "queue": queue}] * n)]


def _later(conn: psycopg.Connection) -> None:
    """Pin this session's clock LATER from now (inside its open transaction)."""
    when = conn.execute(f"select now() + interval '{LATER}'").fetchone()[0]
    conn.execute("select set_config('durable.fake_now', %s, true)", [when.isoformat()])


def _backend_waits_on_lock(observer: psycopg.Connection, pid: int) -> bool:
    row = observer.execute("select wait_event_type from pg_stat_activity where pid = %s",
                           [pid]).fetchone()
    return bool(row and row[0] == "Lock")


def test_two_sessions_claiming_at_once_never_get_the_same_workflow(two, queue):
    """Two sessions claim batches from one queue at the same time until it is empty: every
    workflow is handed out exactly once."""
    a, b = two
    ids = _enqueue(a, queue, 60)
    got: dict[str, list[str]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def drain(name: str, conn: psycopg.Connection) -> None:
        barrier.wait()
        while True:
            batch = db.claim(conn, f"{name}-{queue}", [queue], 4, 30)
            if not batch:
                return
            got[name].extend(c.workflow_id for c in batch)

    threads = [threading.Thread(target=drain, args=(n, c)) for n, c in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not set(got["a"]) & set(got["b"])
    assert sorted(got["a"] + got["b"]) == sorted(ids)
    assert got["a"] and got["b"]


def test_a_row_locked_by_an_open_claim_is_skipped_not_waited_for(two, queue):
    """Session A claims inside a transaction it keeps open; session B's claim skips that row at
    once (SKIP LOCKED) and takes the next; after A commits, nothing is left for B."""
    a, b = two
    both = _enqueue(a, queue, 2)  # equal priority and run_at: either may come first
    with a.transaction():
        mine = db.claim(a, "a-" + queue, [queue], 1, 30)
        assert len(mine) == 1 and mine[0].workflow_id in both
        first, second = mine[0].workflow_id, (set(both) - {mine[0].workflow_id}).pop()
        started = time.monotonic()
        theirs = db.claim(b, "b-" + queue, [queue], 2, 30)
        assert time.monotonic() - started < 2
        assert [c.workflow_id for c in theirs] == [second]
    assert db.claim(b, "b-" + queue, [queue], 2, 30) == []
    owners = dict(a.execute("select id, owner from durable.runs where id = any(%s)",
                            [[first, second]]).fetchall())
    assert owners == {first: "a-" + queue, second: "b-" + queue}


def test_a_late_checkpoint_after_a_reclaim_gets_lease_lost(two, queue):
    """Worker A's lease expires and worker B reclaims the run; A's checkpoint with its old
    lease is refused with DU001 and records nothing, B's with the new lease is recorded."""
    a, b = two
    (wid,) = _enqueue(a, queue, 1)
    old = db.claim(a, "a-" + queue, [queue], 1, 30)[0]
    with b.transaction():
        _later(b)
        new = db.claim(b, "b-" + queue, [queue], 1, 30)[0]
    assert new.workflow_id == wid and new.lease != old.lease
    with pytest.raises(durable.LeaseLost, match=f"lease {old.lease} on workflow {wid} is lost"):
        db.checkpoint(a, wid, old.lease, 0, "step", "from A")
    assert db.checkpoint(b, wid, new.lease, 0, "step", "from B").recorded
    with pytest.raises(durable.LeaseLost):
        db.complete(a, wid, old.lease, "A finishes")
    assert db.complete(b, wid, new.lease, "B finishes") == "succeeded"
    assert db.result(a, wid).output == "B finishes"


def test_a_checkpoint_in_flight_is_skipped_by_the_reclaim_which_then_sees_it(two, queue):
    """A's checkpoint holds the run's row (for share) in an open transaction: B's reclaim does
    not wait on it, it skips the row; once A commits, B's reclaim takes the run and gets A's
    step among the recorded ones, so nothing recorded is lost or done twice."""
    a, b = two
    (wid,) = _enqueue(a, queue, 1)
    old = db.claim(a, "a-" + queue, [queue], 1, 30)[0]
    with a.transaction():
        assert db.checkpoint(a, wid, old.lease, 0, "step", "from A").recorded
        with b.transaction():
            _later(b)
            started = time.monotonic()
            assert db.claim(b, "b-" + queue, [queue], 1, 30) == []
            assert time.monotonic() - started < 2
    with b.transaction():
        _later(b)
        (new,) = db.claim(b, "b-" + queue, [queue], 1, 30)
    assert new.workflow_id == wid
    assert new.steps == [{"step_id": 0, "name": "step", "output": "from A", "error": None}]
    with pytest.raises(durable.LeaseLost):
        db.checkpoint(a, wid, old.lease, 1, "next", "A goes on")


@pytest.mark.parametrize("b_commits", [True, False])
def test_a_checkpoint_waits_for_an_open_reclaim_then_loses_or_wins(dsn, two, queue, b_commits):
    """B's reclaim is in an open transaction when A's late checkpoint arrives: A waits on the
    row lock (not forever: until B ends). If B commits, A gets DU001; if B rolls back, A still
    holds the lease and its checkpoint is recorded."""
    a, b = two
    (wid,) = _enqueue(a, queue, 1)
    old = db.claim(a, "a-" + queue, [queue], 1, 30)[0]
    outcome: dict[str, object] = {}

    def late_checkpoint() -> None:
        try:
            outcome["result"] = db.checkpoint(a, wid, old.lease, 0, "step", "from A")
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    b.execute("begin")
    try:
        _later(b)
        (new,) = db.claim(b, "b-" + queue, [queue], 1, 30)
        assert new.workflow_id == wid
        thread = threading.Thread(target=late_checkpoint)
        thread.start()
        with psycopg.connect(dsn, autocommit=True) as observer:
            a_pid = a.info.backend_pid
            deadline = time.monotonic() + 5
            while not _backend_waits_on_lock(observer, a_pid):
                assert time.monotonic() < deadline, "A's checkpoint did not wait on B's lock"
                time.sleep(0.02)
        assert thread.is_alive()
    finally:
        b.execute("commit" if b_commits else "rollback")
    thread.join(5)
    assert not thread.is_alive()
    if b_commits:
        assert isinstance(outcome.get("error"), durable.LeaseLost), outcome
        assert db.checkpoint(b, wid, new.lease, 0, "step", "from B").recorded
    else:
        assert outcome.get("result") == db.StepOutcome(True, "from A", None), outcome
    owner = b.execute("select owner from durable.runs where id = %s", [wid]).fetchone()[0]
    assert owner == ("b-" if b_commits else "a-") + queue



def test_a_concurrency_limit_holds_against_two_sessions_claiming_at_once(two, queue):
    """Queue with concurrency 1: session A claims inside an open transaction; session B's claim
    neither waits for A nor counts a free slot: the one run slot is A's (locked, uncommitted),
    so B gets nothing at once, and still nothing once A commits. Once A's workflow finishes, B
    gets the next one."""
    a, b = two
    a.execute("select durable.set_queue(%s, 1)", [queue])
    _enqueue(a, queue, 3)
    b.execute("set lock_timeout = '2s'")  # a wait would fail B's claim, not hang the test
    with a.transaction():
        first = db.claim(a, "a-" + queue, [queue], 5, 30)
        assert len(first) == 1
        assert db.claim(b, "b-" + queue, [queue], 5, 30) == []
    assert db.claim(b, "b-" + queue, [queue], 5, 30) == []
    db.complete(a, first[0].workflow_id, first[0].lease, None)
    second = db.claim(b, "b-" + queue, [queue], 5, 30)
    assert len(second) == 1 and second[0].workflow_id != first[0].workflow_id
