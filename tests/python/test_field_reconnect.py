"""Issue 9, item 8: a lost connection does not throw away a valid lease's work.

Every connection of a worker terminated (pg_terminate_backend: as a pooler's restart or a
failover does) after a step returned: the slot dropped the run at its next statement although
its lease was still valid, and the step ran again; and a slot did not notice that its idle
connection was dead until it used it, so the next run started on it was dropped too (one
workflow was dropped 4 times in a row). Now a lost connection is remade and the run goes on
under the same lease, and a run never starts on a connection found dead.
"""

from __future__ import annotations

import uuid

import psycopg

from conftest import events, status_of, wait_for


def _finished(conn: psycopg.Connection, workflow_id: str) -> str | None:
    status = status_of(conn, workflow_id)
    return status if status in ("succeeded", "failed", "cancelled") else None


def _script(app, queue: str, *steps: dict) -> str:
    return app.enqueue("script", {"steps": list(steps)}, queue=queue,
                       workflow_id=f"wf-{uuid.uuid4().hex[:12]}").workflow_id


def _backends(conn: psycopg.Connection, worker, role: str = "%") -> list[int]:
    """The server pids of a worker's connections (application_name 'durable ROLE WORKER')."""
    return [pid for (pid,) in conn.execute(
        "select pid from pg_stat_activity where application_name like %s",
        [f"durable {role} {worker.worker_id}"]).fetchall()]


def _terminate(conn: psycopg.Connection, pids: list[int]) -> int:
    return conn.execute("select count(*) filter (where pg_terminate_backend(pid))"
                        " from unnest(%s::int[]) as pid", [pids]).fetchone()[0]


def _claims(conn: psycopg.Connection, workflow_id: str) -> int:
    return conn.execute("select claims from durable.runs where id = %s",
                        [workflow_id]).fetchone()[0]


def _starts(conn: psycopg.Connection, workflow_id: str) -> list[tuple[int, int]]:
    return [(e["step"], e["pid"]) for e in events(conn, workflow_id) if e["phase"] == "start"]


def _warm_up(app, conn: psycopg.Connection, queue: str, worker) -> None:
    """Both slots run a workflow at once, so that each has a connection of its own."""
    for wid in [_script(app, queue, {"kind": "plain", "sleep": 0.5}) for _ in range(2)]:
        assert wait_for(lambda w=wid: _finished(conn, w)) == "succeeded"
    wait_for(lambda: len(_backends(conn, worker, "slot")) == 2, what="two slot connections")


def test_a_lost_connection_is_remade_and_the_returned_step_is_not_run_again(
        app, conn, queue, start_worker):
    """Every connection of the worker (2 slots, lease timeout 1 s) terminated while the workflow
    sleeps after step 0 returned: step 0 is not run again, and the run completes on the same
    worker under the same lease (claimed once)."""
    worker = start_worker(queue, concurrency=2, lease=1.0)
    _warm_up(app, conn, queue, worker)
    wid = app.enqueue("field_sleep_between", 3, queue=queue).workflow_id
    wait_for(lambda: any(e["phase"] == "sleeping" for e in events(conn, wid)),
             what="step 0 to return")
    killed = _terminate(conn, _backends(conn, worker))
    assert killed >= 5  # main, heartbeat, listener, two slots

    assert wait_for(lambda: _finished(conn, wid), timeout=30) == "succeeded", worker.log()
    assert _starts(conn, wid) == [(0, worker.pid), (1, worker.pid)]
    assert _claims(conn, wid) == 1
    assert worker.proc.poll() is None


def test_a_run_never_starts_on_a_dead_idle_connection(app, conn, queue, start_worker):
    """Every connection of an idle worker terminated: the next two workflows, one for each slot,
    each run once on a new connection (each step once, each claimed once) instead of being
    dropped at their first checkpoint."""
    worker = start_worker(queue, concurrency=2, lease=1.0)
    _warm_up(app, conn, queue, worker)
    slots = _backends(conn, worker, "slot")
    assert _terminate(conn, _backends(conn, worker)) >= 5

    later = [_script(app, queue, {"kind": "plain", "sleep": 0.5}, {"kind": "plain"})
             for _ in range(2)]
    for wid in later:
        assert wait_for(lambda w=wid: _finished(conn, w), timeout=30) == "succeeded", worker.log()
    for wid in later:
        assert _starts(conn, wid) == [(0, worker.pid), (1, worker.pid)]
        assert _claims(conn, wid) == 1
    assert not set(slots) & set(_backends(conn, worker, "slot"))  # both slots remade theirs
    assert worker.proc.poll() is None


def test_a_checkpoint_cut_off_with_its_connection_is_sent_again_on_a_new_one(
        app, conn, dsn, queue, start_worker):
    """The slot's connection terminated while step 0's checkpoint waits for a row lock (so that
    it never commits there): the worker sends it again on a new connection under the same
    lease, and the step is recorded once and run once."""
    worker = start_worker(queue, concurrency=1)
    wid = app.enqueue("field_sleep_between", 0.5, True, queue=queue).workflow_id
    wait_for(lambda: any(e["step"] == 0 for e in events(conn, wid)), what="step 0 to start")
    with psycopg.connect(dsn) as locker:  # a transaction that holds the workflow's row
        locker.execute("select 1 from durable.workflows where id = %s for update", [wid])
        conn.execute("insert into testapp.events (workflow_id, phase, pid) values"
                     " (%s, 'go', pg_backend_pid())", [wid])
        (slot,) = wait_for(lambda: [pid for pid in _backends(conn, worker, "slot") if
                                    conn.execute("select wait_event_type = 'Lock'"
                                                 " from pg_stat_activity where pid = %s",
                                                 [pid]).fetchone()[0]],
                           what="step 0's checkpoint to wait for the row lock")
        assert _terminate(conn, [slot]) == 1
        locker.rollback()

    assert wait_for(lambda: _finished(conn, wid), timeout=30) == "succeeded", worker.log()
    assert _starts(conn, wid) == [(0, worker.pid), (1, worker.pid)]
    assert _claims(conn, wid) == 1
    steps = conn.execute("select step_id, output from durable.steps where workflow_id = %s"
                         " order by step_id", [wid]).fetchall()
    assert steps == [(0, "prepared"), (1, "step 1")]
