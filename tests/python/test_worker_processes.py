"""Real `durable worker` processes, killed, stopped and paused with real signals."""

from __future__ import annotations

import itertools
import signal
import time
import uuid

import psycopg
import pytest

import durable
from conftest import LEASE, events, recorded_steps, status_of, wait_for


def _script(app: durable.Durable, queue: str, *steps: dict, **plan) -> str:
    handle = app.enqueue("script", {"steps": list(steps), **plan}, queue=queue,
                         workflow_id=f"wf-{uuid.uuid4().hex[:12]}")
    return handle.workflow_id


def _finished(conn: psycopg.Connection, workflow_id: str) -> str | None:
    status = status_of(conn, workflow_id)
    return status if status in ("succeeded", "failed", "cancelled") else None


def _has_event(conn: psycopg.Connection, workflow_id: str, step: int, phase: str,
               pid: int | None = None):
    return lambda: any(e["step"] == step and e["phase"] == phase and pid in (None, e["pid"])
                       for e in events(conn, workflow_id))


def test_recorded_steps_are_replayed_not_rerun(app, conn, queue, start_worker):
    """Steps recorded before a worker claims the run come from the claim: their code does not
    run again and the recorded outputs (not new ones) are what the workflow gets."""
    wid = _script(app, queue, {"kind": "plain"}, {"kind": "plain"}, {"kind": "plain"})
    # an earlier execution recorded steps 0 and 1, then handed the run back
    prep = f"prep-{uuid.uuid4().hex[:6]}"
    lease = conn.execute("select lease from durable.claim(%s, array[%s])", [prep, queue]).fetchone()[0]
    for step in (0, 1):
        conn.execute("select * from durable.checkpoint(%s, %s, %s, 'plain', %s::jsonb)",
                     [wid, lease, step, f'{{"pid": 0, "step": {step}, "earlier": true}}'])
    conn.execute("select durable.release(%s)", [prep])

    worker = start_worker(queue)
    output = app.handle(wid).result(timeout=15)

    assert output[:2] == [{"pid": 0, "step": 0, "earlier": True},
                          {"pid": 0, "step": 1, "earlier": True}]
    assert output[2] == {"pid": worker.pid, "step": 2}
    assert [(e["step"], e["phase"]) for e in events(conn, wid)] == [(2, "start"), (2, "end")]


def test_workflow_retry_replays_its_successful_steps(app, conn, queue, start_worker):
    """A workflow that fails after its steps is retried by the SQL (max_attempts 2); the second
    attempt replays the recorded steps instead of running them again."""
    wid = app.enqueue("script", {"steps": [{"kind": "plain"}, {"kind": "plain"}], "raise": True},
                      queue=queue, max_attempts=2).workflow_id
    start_worker(queue)
    with pytest.raises(durable.WorkflowFailed, match="raised on purpose"):
        app.handle(wid).result(timeout=15)

    assert [(e["step"], e["phase"]) for e in events(conn, wid)] == [
        (0, "start"), (0, "end"), (1, "start"), (1, "end")]
    attempts = conn.execute("select attempt from durable.run_errors where workflow_id = %s"
                            " and step_id is null order by attempt", [wid]).fetchall()
    assert attempts == [(1,), (2,)]


def test_sigkill_mid_step_reruns_that_step_once_and_records_it_once(app, conn, queue,
                                                                      start_worker):
    """SIGKILL during step 1: another worker resumes after the lease expires, replays step 0,
    runs step 1 again (the only step run twice) and records it once."""
    wid = _script(app, queue, {"kind": "plain"}, {"kind": "plain", "sleep": 30, "first_only": True},
                  {"kind": "plain"})
    first = start_worker(queue, concurrency=1)
    wait_for(_has_event(conn, wid, 1, "start", first.pid), what="step 1 to start")
    first.signal(signal.SIGKILL)
    first.wait()
    second = start_worker(queue, concurrency=1)
    assert wait_for(lambda: _finished(conn, wid), timeout=LEASE + 15) == "succeeded"

    starts = [(e["step"], e["pid"]) for e in events(conn, wid) if e["phase"] == "start"]
    assert starts == [(0, first.pid), (1, first.pid), (1, second.pid), (2, second.pid)]
    steps = recorded_steps(conn, wid)
    assert [s["step_id"] for s in steps] == [0, 1, 2]
    assert [s["output"]["pid"] for s in steps] == [first.pid, second.pid, second.pid]


def test_transactional_step_writes_exactly_once_under_sigkill(app, conn, queue, start_worker):
    """A transactional step's write commits with its checkpoint: killed inside the step, the
    write is rolled back and done once by the next worker; killed after it, it is replayed,
    not written again."""
    inside = _script(app, queue, {"kind": "txn", "sleep": 30, "first_only": True},
                     {"kind": "plain"})
    after = _script(app, queue, {"kind": "txn"},
                    {"kind": "plain", "sleep": 30, "first_only": True})
    first = start_worker(queue, concurrency=2)
    wait_for(_has_event(conn, inside, 0, "start", first.pid), what="txn step to start")
    wait_for(_has_event(conn, after, 1, "start", first.pid), what="the step after txn to start")
    first.signal(signal.SIGKILL)
    first.wait()
    second = start_worker(queue, concurrency=2)
    for wid in (inside, after):
        assert wait_for(lambda w=wid: _finished(conn, w), timeout=LEASE + 15) == "succeeded"

    ledger = dict(conn.execute(
        "select workflow_id, array_agg(pid) from testapp.ledger where workflow_id in (%s, %s)"
        " group by workflow_id", [inside, after]).fetchall())
    assert ledger == {inside: [second.pid], after: [first.pid]}
    txn_starts = {w: [e["pid"] for e in events(conn, w) if e["step"] == 0] for w in (inside, after)}
    assert txn_starts == {inside: [first.pid, second.pid], after: [first.pid]}


def test_two_workers_never_run_the_same_workflow_at_once(app, conn, queue, start_worker):
    """Two workers with three slots each share 24 workflows: each workflow is claimed once,
    all its steps run in one process, each step once, and both workers take part."""
    workers = [start_worker(queue, concurrency=3), start_worker(queue, concurrency=3)]
    step = {"kind": "plain", "sleep": 0.05}
    handles = app.enqueue_many("script", [[{"steps": [step, step, step]}] for _ in range(24)],
                               queue=queue)
    for handle in handles:
        handle.result(timeout=30)

    ids = [h.workflow_id for h in handles]
    rows = conn.execute(
        "select workflow_id, count(distinct pid), count(*) filter (where phase = 'start'),"
        " count(distinct (step, phase)) from testapp.events where workflow_id = any(%s)"
        " group by workflow_id", [ids]).fetchall()
    assert len(rows) == 24
    assert all(pids == 1 and starts == 3 and distinct == 6 for _, pids, starts, distinct in rows)
    claims = conn.execute("select claims from durable.runs where id = any(%s)", [ids]).fetchall()
    assert {c for (c,) in claims} == {1}
    pids = {p for (p,) in conn.execute(
        "select distinct pid from testapp.events where workflow_id = any(%s)", [ids]).fetchall()}
    assert pids == {w.pid for w in workers}


def test_sigterm_lets_the_running_workflow_finish(app, conn, queue, start_worker):
    """SIGTERM during a step: the worker claims nothing more, finishes the workflow within its
    grace period, forgets itself (durable.release) and exits 0."""
    wid = _script(app, queue, {"kind": "plain", "sleep": 1.0}, {"kind": "plain"})
    worker = start_worker(queue, concurrency=1, grace=15)
    wait_for(_has_event(conn, wid, 0, "start"), what="step 0 to start")
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0, worker.log()

    assert status_of(conn, wid) == "succeeded"
    assert [e["pid"] for e in events(conn, wid)] == [worker.pid] * 4
    gone = conn.execute("select count(*) from durable.worker_status where id = %s",
                        [worker.worker_id]).fetchone()[0]
    assert gone == 0


def test_sigterm_releases_what_cannot_finish_in_the_grace_period(app, conn, queue, start_worker):
    """SIGTERM with a step longer than the grace period: the worker hands the workflow back at
    once (pending, no owner) and exits; the next worker resumes it without a lease wait and
    without re-running the recorded step."""
    wid = _script(app, queue, {"kind": "plain"}, {"kind": "plain", "sleep": 60, "first_only": True},
                  {"kind": "plain"})
    first = start_worker(queue, concurrency=1, grace=0.3, lease=60)
    wait_for(_has_event(conn, wid, 1, "start"), what="step 1 to start")
    first.signal(signal.SIGTERM)
    assert first.wait(10) == 0, first.log()

    run = conn.execute("select status, owner from durable.runs where id = %s", [wid]).fetchone()
    assert run == ("pending", None)
    second = start_worker(queue, concurrency=1, lease=60)
    assert wait_for(lambda: _finished(conn, wid), timeout=10) == "succeeded"
    starts = [(e["step"], e["pid"]) for e in events(conn, wid) if e["phase"] == "start"]
    assert starts == [(0, first.pid), (1, first.pid), (1, second.pid), (2, second.pid)]


def test_a_step_that_returns_early_on_should_stop_is_not_recorded(app, conn, queue, start_worker):
    """SIGTERM while a long step polls durable.should_stop(): the step returns early, but that
    value is not its outcome, so it is not recorded (the lease was still valid in the grace
    period: it used to be checkpointed and replayed, and the work was never done); the next
    worker runs the step in full."""
    wid = _script(app, queue, {"kind": "patient", "sleep": 3, "first_only": True}, {"kind": "plain"})
    first = start_worker(queue, concurrency=1, grace=0.3, lease=60)
    wait_for(_has_event(conn, wid, 0, "start"), what="step 0 to start")
    first.signal(signal.SIGTERM)
    assert first.wait(10) == 0, first.log()
    assert _has_event(conn, wid, 0, "told to stop")()
    assert recorded_steps(conn, wid) == []

    start_worker(queue, concurrency=1, lease=60)
    assert wait_for(lambda: _finished(conn, wid), timeout=20) == "succeeded"
    assert recorded_steps(conn, wid)[0]["output"] == {"stopped": False}


def test_lease_loss_stops_execution(app, conn, queue, start_worker):
    """A worker frozen (SIGSTOP) past its lease loses the workflow to another worker; resumed
    (SIGCONT), it finishes the step it was in, is refused at the checkpoint (or told by its
    heartbeat) and runs nothing more of that workflow, while staying alive."""
    wid = _script(app, queue, {"kind": "plain", "sleep": 2.5, "first_only": True},
                  {"kind": "plain"}, {"kind": "plain"})
    first = start_worker(queue, concurrency=1)
    wait_for(_has_event(conn, wid, 0, "start", first.pid), what="step 0 to start")
    first.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: conn.execute("select not alive from durable.worker_status where id = %s",
                                      [first.worker_id]).fetchone()[0],
                 timeout=LEASE + 5, what="the frozen worker's lease to expire")
        second = start_worker(queue, concurrency=1)
        assert wait_for(lambda: _finished(conn, wid), timeout=15) == "succeeded"
    finally:
        first.signal(signal.SIGCONT)
    wait_for(lambda: f"{wid}: stopped" in first.log(), timeout=10,
             what="the resumed worker to stop the workflow")
    time.sleep(0.5)

    assert first.proc.poll() is None
    mine = [(e["step"], e["phase"]) for e in events(conn, wid) if e["pid"] == first.pid]
    assert mine in ([(0, "start")], [(0, "start"), (0, "end")])
    assert [s["output"]["pid"] for s in recorded_steps(conn, wid)] == [second.pid] * 3


def test_heartbeat_tells_a_running_step_its_workflow_was_cancelled(app, conn, queue,
                                                                   start_worker):
    """Cancelling a running workflow: the worker's next heartbeat no longer lists it, the step
    sees durable.should_stop(), and no later step runs."""
    wid = _script(app, queue, {"kind": "patient", "sleep": 30}, {"kind": "plain"})
    worker = start_worker(queue, concurrency=1)
    wait_for(_has_event(conn, wid, 0, "start"), what="step 0 to start")
    assert app.cancel(wid) == "cancelled"
    wait_for(_has_event(conn, wid, 0, "told to stop"), timeout=LEASE * 2,
             what="the step to be told to stop")
    wait_for(lambda: f"{wid}: stopped" in worker.log(), timeout=5, what="the run to stop")

    assert [(e["step"], e["phase"]) for e in events(conn, wid)] == [(0, "start"), (0, "told to stop")]
    assert recorded_steps(conn, wid) == []
    with pytest.raises(durable.WorkflowCancelled):
        app.handle(wid).result(timeout=1)


def test_step_retries_follow_the_sql(app, conn, queue, start_worker):
    """A failing step is tried again while durable.step_failed says so, after the delay it
    gives (backoff 0.2 s: at least 0.1 s with jitter), 3 tries at most (max_attempts=3); then
    the error is the step's recorded outcome and the workflow fails with it."""
    wid = _script(app, queue, {"kind": "flaky", "fail": 2}, {"kind": "flaky", "fail": 10})
    start_worker(queue, concurrency=1)
    with pytest.raises(durable.WorkflowFailed) as failed:
        app.handle(wid).result(timeout=15)
    assert "flaky failure 3" in str(failed.value)

    tries = conn.execute("select step, (detail->>'try')::int, at from testapp.events"
                         " where workflow_id = %s order by id", [wid]).fetchall()
    assert [(s, t) for s, t, _ in tries] == [(0, 1), (0, 2), (0, 3), (1, 1), (1, 2), (1, 3)]
    gaps = [(b[2] - a[2]).total_seconds() for a, b in itertools.pairwise(tries) if a[0] == b[0]]
    assert all(g >= 0.1 for g in gaps), gaps
    errors = conn.execute("select step_id, count(*) from durable.run_errors where workflow_id = %s"
                          " group by step_id order by step_id nulls last", [wid]).fetchall()
    assert errors == [(0, 2), (1, 3), (None, 1)]
    steps = recorded_steps(conn, wid)
    assert steps[0]["output"] == {"tries": 3} and steps[0]["error"] is None
    assert steps[1]["error"]["message"] == "flaky failure 3"


def test_worker_reconnects_when_its_connections_are_killed(app, conn, queue, start_worker):
    """Every connection of the worker is terminated mid-step (as when Postgres restarts): it
    reconnects and finishes the run on a new connection, without running its recorded step
    again (test_field_reconnect.py: under the same lease)."""
    wid = _script(app, queue, {"kind": "plain"}, {"kind": "plain", "sleep": 1.0},
                  {"kind": "plain"})
    worker = start_worker(queue, concurrency=1)
    wait_for(_has_event(conn, wid, 1, "start"), what="step 1 to start")
    killed = conn.execute("select count(pg_terminate_backend(pid)) from pg_stat_activity"
                          " where application_name like %s", [f"%{worker.worker_id}"]).fetchone()[0]
    assert killed >= 3  # main, heartbeat, listener, slot
    assert wait_for(lambda: _finished(conn, wid), timeout=20) == "succeeded", worker.log()
    later = _script(app, queue, {"kind": "plain"})
    assert wait_for(lambda: _finished(conn, later), timeout=10) == "succeeded"

    starts = [e["step"] for e in events(conn, wid) if e["phase"] == "start"]
    assert starts[0] == 0 and starts.count(0) == 1 and starts[-1] == 2
    assert "connection lost" in worker.log()
    assert worker.proc.poll() is None
