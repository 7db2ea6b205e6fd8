"""Worker identity across two real worker logins: a worker id belongs to the login that
registered it, and a lease works only for that login (DU015), whatever another login knows.

Two LOGIN roles of the test's own, members of durable_worker, each on a connection of its own
(the server's session_user is the login); both are dropped at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from durable import db, errors


@pytest.fixture
def logins(dsn: str, conn: psycopg.Connection) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    """Connections of two new worker logins A and B (roles dropped after the test)."""
    suffix = uuid.uuid4().hex[:8]
    roles = [f"durable_test_wl_{suffix}_a", f"durable_test_wl_{suffix}_b"]
    conns: list[psycopg.Connection] = []
    for role in roles:
        conn.execute(sql.SQL("create role {} login in role durable_worker").format(
            sql.Identifier(role)))
    try:
        for role in roles:
            conns.append(db.connect(make_conninfo(dsn, user=role)))
        yield conns[0], conns[1]
    finally:
        for c in conns:
            c.close()
        for role in roles:
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def _claimed_by_a(conn: psycopg.Connection, a: psycopg.Connection, queue: str) -> tuple[str, str, int]:
    """A workflow enqueued by the test and claimed by login A's worker: (worker, id, lease).
    The lease is a 12-digit number, so that a message showing it cannot match by chance."""
    worker = f"wl-a-{uuid.uuid4().hex[:8]}"
    conn.execute("select setval('durable.lease_seq', greatest(nextval('durable.lease_seq'),"
                 " 500000000000) + (random() * 1e9)::bigint)")
    wid = db.enqueue(conn, "script", {"steps": []}, queue=queue)[0]
    [run] = db.claim(a, worker, [queue])
    assert run.workflow_id == wid
    return worker, wid, run.lease


def _refused(call) -> errors.SQLError:
    with pytest.raises(errors.SQLError) as raised:
        call()
    return raised.value


def test_sessions_act_as_their_own_logins(logins):
    """The two connections really are two logins (the server's session_user)."""
    a, b = logins
    users = {c.execute("select session_user").fetchone()[0] for c in (a, b)}
    assert len(users) == 2


def test_other_login_cannot_heartbeat_or_release_a_worker(conn, logins, queue):
    """Login B cannot heartbeat (seeing A's leases) or release under A's worker id: DU015."""
    a, b = logins
    worker, wid, lease = _claimed_by_a(conn, a, queue)

    for call in (lambda: db.heartbeat(b, worker),
                 lambda: db.release(b, worker),
                 lambda: db.release(b, worker, [wid]),
                 lambda: db.claim(b, worker, [queue])):
        error = _refused(call)
        assert error.sqlstate == "DU015", error
        assert isinstance(error, errors.DU015)
        assert f"worker id {worker} belongs to another login" in error.message
        assert "another worker id" in (error.hint or "")
        assert str(lease) not in str(error)

    assert db.heartbeat(a, worker) == {wid: lease}  # A still holds it, with the same lease
    assert db.result(conn, wid).status == "running"


def test_other_login_cannot_use_a_lease_it_learned(conn, logins, queue):
    """Login B, given A's current lease, cannot checkpoint, complete or fail with it: DU015,
    and nothing is written; A goes on with the same lease."""
    a, b = logins
    _, wid, lease = _claimed_by_a(conn, a, queue)
    db.heartbeat(b, f"wl-b-{uuid.uuid4().hex[:8]}")

    for call in (lambda: db.checkpoint(b, wid, lease, 0, "s", {"stolen": True}),
                 lambda: db.complete(b, wid, lease, "stolen"),
                 lambda: db.fail(b, wid, lease, {"message": "stolen"}),
                 lambda: b.execute("select * from durable.complete_batch(%s, %s, %s::jsonb[])",
                                   [[wid], [lease], ['"stolen"']])):
        error = _refused(lambda call=call: _translated(call))
        assert error.sqlstate == "DU015", error
        assert f"workflow {wid} is held by a worker of another login" in error.message

    assert db.checkpoint(a, wid, lease, 0, "s", {"mine": True}).recorded
    assert db.complete(a, wid, lease, "mine") == "succeeded"
    assert db.result(conn, wid).output == "mine"


def test_lease_lost_messages_show_no_lease_but_the_callers(conn, logins, queue):
    """DU001 tells a stale caller (of either login) that its lease is lost, never the current
    lease, which it could then use."""
    a, b = logins
    worker, wid, lease = _claimed_by_a(conn, a, queue)
    stale = lease + 1_000_000

    for c in (a, b):
        for call in (lambda c=c: db.checkpoint(c, wid, stale, 0, "s"),
                     lambda c=c: db.complete(c, wid, stale),
                     lambda c=c: db.fail(c, wid, stale, {"message": "x"})):
            error = _refused(call)
            assert error.sqlstate == "DU001", error
            text = f"{error.message} {error.hint} {error.__cause__.diag.message_detail}"
            assert str(lease) not in text, text
            assert str(stale) in error.message  # the caller's own lease is named

    assert db.heartbeat(a, worker) == {wid: lease}


def _translated(call):
    """call(), with a psycopg error of class DU raised as its durable exception."""
    try:
        return call()
    except psycopg.Error as exc:
        mapped = errors.translate(exc)
        if mapped is exc:
            raise
        raise mapped from exc
