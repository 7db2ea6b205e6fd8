"""Waiting (issue 10) with real worker processes: durable sleep, messages, events, child
workflows and deadlines. The workers run durable_waitapp:app; SIGKILLs are real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

import durable
import durable_waitapp
from conftest import HERE, LEASE, WorkerProcess, wait_for

FINISHED = ("succeeded", "failed", "cancelled")


class WaitWorker(WorkerProcess):
    """A real `durable worker durable_waitapp:app` process."""

    def __init__(self, dsn: str, queue: str, log: Path, *, concurrency: int = 2,
                 lease: float = LEASE, grace: float = 10.0):
        self.dsn = dsn
        self.worker_id = f"test-wait-{uuid.uuid4().hex[:8]}"
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in wait()/kill()
        env = dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "durable_waitapp:app", "--path",
             str(HERE), "--queues", queue, "--concurrency", str(concurrency), "--lease-timeout",
             str(lease), "--poll-interval", "0.5", "--grace", str(grace), "--worker-id",
             self.worker_id],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=HERE,
        )
        self.pid = self.proc.pid


@pytest.fixture
def wapp(dsn: str) -> Iterator[durable.Durable]:
    """durable_waitapp.app pointed at the test database (its side table made)."""
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(durable_waitapp.SCHEMA)
    durable_waitapp.app.dsn = dsn
    yield durable_waitapp.app
    durable_waitapp.app.close()


@pytest.fixture
def start_wait_worker(dsn: str, conn: psycopg.Connection, tmp_path: Path
                      ) -> Iterator[Callable[..., WaitWorker]]:
    """start_wait_worker(queue, **options): a ready worker process, SIGKILLed at the end."""
    started: list[WaitWorker] = []

    def start(queue: str, **options: Any) -> WaitWorker:
        worker = WaitWorker(dsn, queue, tmp_path / f"wait-worker-{len(started)}.log",
                            **options)
        started.append(worker)
        return worker.wait_ready(conn)

    yield start
    for worker in started:
        worker.kill()


def _rows(conn: psycopg.Connection, sql: str, params: list | tuple = ()) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _status(conn: psycopg.Connection, workflow_id: str) -> str:
    return conn.execute("select status from durable.runs where id = %s",
                        [workflow_id]).fetchone()[0]


def _finished(conn: psycopg.Connection, workflow_id: str) -> str | None:
    status = _status(conn, workflow_id)
    return status if status in FINISHED else None


def _events(conn: psycopg.Connection, workflow_id: str, phase: str | None = None) -> list[dict]:
    return [e for e in _rows(conn, "select phase, pid, detail from waitapp.events"
                                   " where workflow_id = %s order by id", [workflow_id])
            if phase in (None, e["phase"])]


def _wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _waiting_in_client(conn: psycopg.Connection, function: str) -> bool:
    """Whether a client's listener connection sits idle after calling function (it listens)."""
    return bool(conn.execute(
        "select 1 from pg_stat_activity where application_name = 'durable client listener'"
        " and state = 'idle' and query like %s", [f"%durable.{function}(%"]).fetchone())


# -- sleep ---------------------------------------------------------------------------------------


def test_a_thousand_sleepers_on_two_slots_all_finish_parked(wapp, conn, queue,
                                                            start_wait_worker):
    """1,000 workflows that sleep durably on one worker with concurrency 2: every one parked
    (its wait has parked_at: its slot was freed while it slept) and was claimed exactly twice
    (once to reach the sleep, once after its wake time), and all succeed."""
    handles = wapp.enqueue_many("wait_sleeper", [[1.0]] * 1000, queue=queue)
    ids = [h.workflow_id for h in handles]
    start_wait_worker(queue, concurrency=2)

    def done() -> bool:
        return conn.execute("select count(*) from durable.runs where id = any(%s)"
                            " and status in ('succeeded', 'failed', 'cancelled')",
                            [ids]).fetchone()[0] == 1000

    wait_for(done, timeout=300, interval=0.5, what="1,000 sleepers to finish")
    rows = _rows(conn, "select status, output, claims from durable.runs where id = any(%s)",
                 [ids])
    assert {(r["status"], r["output"], r["claims"]) for r in rows} == {("succeeded", "slept", 2)}
    waits = _rows(conn, "select kind, parked_at is not null as parked, outcome"
                        " from durable.run_waits where workflow_id = any(%s)", [ids])
    assert len(waits) == 1000
    assert {(w["kind"], w["parked"], w["outcome"]) for w in waits} == {("sleep", True, "ready")}
    steps = _rows(conn, "select name, output ? 'slept_until' as has_time from durable.run_steps"
                        " where workflow_id = any(%s)", [ids])
    assert len(steps) == 1000 and {(s["name"], s["has_time"]) for s in steps} == {
        ("durable.sleep", True)}


# -- messages ------------------------------------------------------------------------------------


def test_recv_waits_parked_and_a_client_send_wakes_it(wapp, conn, queue, start_wait_worker):
    """A receiver with no message parks (waiting, no owner, waiting_for says the topic); a send
    from a client wakes it and it returns the messages in order, each consumed once."""
    wid = wapp.enqueue("wait_receiver", 2, "orders", queue=queue,
                       workflow_id=_wid("recv")).workflow_id
    start_wait_worker(queue)
    wait_for(lambda: _status(conn, wid) == "waiting", what="the receiver to park")
    run = _rows(conn, "select owner, waiting_for, waiting_since from durable.runs where id = %s",
                [wid])[0]
    assert run["owner"] is None and run["waiting_since"] is not None
    assert run["waiting_for"].startswith("message on topic orders")

    first = wapp.send(wid, {"n": 1}, topic="orders", idempotency_key="k1")
    assert wapp.send(wid, {"n": 1}, topic="orders", idempotency_key="k1") == first  # once
    wapp.send(wid, {"n": 2}, topic="orders")
    assert wapp.handle(wid).result(timeout=60) == [{"n": 1}, {"n": 2}]
    consumed = _rows(conn, "select consumed_step from durable.run_messages"
                           " where workflow_id = %s order by id", [wid])
    assert [m["consumed_step"] for m in consumed] == [0, 2]
    with pytest.raises(durable.AlreadyFinished):
        wapp.send(wid, "too late", topic="orders")
    with pytest.raises(durable.UnknownWorkflow):
        wapp.send(_wid("nobody"), "hello")


def test_a_message_is_consumed_once_when_the_receiver_is_killed(wapp, conn, queue,
                                                                start_wait_worker):
    """The receiver consumes a message and its next step blocks: SIGKILL there. The next
    worker replays the recorded recv (the same message, not the next one), and every message
    is received exactly once, in order."""
    wid = wapp.enqueue("wait_receiver", 3, "jobs", True, queue=queue,
                       workflow_id=_wid("kill-recv")).workflow_id
    sent = [wapp.send(wid, {"job": i}, topic="jobs") for i in range(3)]
    first = start_wait_worker(queue, concurrency=1)
    wait_for(lambda: _events(conn, wid, "received"), what="the first message to be noted")
    first.signal(signal.SIGKILL)
    first.wait()
    consumed = _rows(conn, "select id, consumed_step from durable.run_messages"
                           " where workflow_id = %s and consumed_at is not null", [wid])
    assert [(m["id"], m["consumed_step"]) for m in consumed] == [(sent[0], 0)]

    second = start_wait_worker(queue, concurrency=1)
    assert wait_for(lambda: _finished(conn, wid), timeout=LEASE + 30) == "succeeded"
    assert wapp.handle(wid).result(timeout=5) == [{"job": 0}, {"job": 1}, {"job": 2}]
    messages = _rows(conn, "select id, consumed_step from durable.run_messages"
                           " where workflow_id = %s order by id", [wid])
    assert [(m["id"], m["consumed_step"]) for m in messages] == list(zip(sent, [0, 2, 4]))
    notes = [(e["pid"], e["detail"]["message"]) for e in _events(conn, wid, "received")]
    assert notes == [(first.pid, {"job": 0}), (second.pid, {"job": 0}),
                     (second.pid, {"job": 1}), (second.pid, {"job": 2})]


def test_messages_sent_while_receivers_are_killed_are_each_received_once(
        wapp, conn, queue, start_wait_worker):
    """40 messages sent one by one while the receiving worker is SIGKILLed twice at whatever
    it is doing (in a recv, between steps): the receiver gets every message once, in order."""
    count = 40
    wid = wapp.enqueue("wait_receiver", count, "stream", queue=queue,
                       workflow_id=_wid("stream")).workflow_id
    worker = start_wait_worker(queue, concurrency=1)
    kills = {count // 3, 2 * count // 3}
    for i in range(count):
        wapp.send(wid, i, topic="stream")
        if i in kills:
            wait_for(lambda n=i: len(_events(conn, wid, "received")) >= n - 2,
                     timeout=60, what="the receiver to catch up")
            worker.signal(signal.SIGKILL)
            worker.wait()
            worker = start_wait_worker(queue, concurrency=1)
    assert wait_for(lambda: _finished(conn, wid), timeout=LEASE * 3 + 60) == "succeeded"
    assert wapp.handle(wid).result(timeout=5) == list(range(count))
    steps = _rows(conn, "select output from durable.run_steps where workflow_id = %s"
                        " and name = 'durable.recv' order by step_id", [wid])
    assert [s["output"]["message"] for s in steps] == list(range(count))
    unconsumed = conn.execute("select count(*) from durable.run_messages where workflow_id = %s"
                              " and consumed_at is null", [wid]).fetchone()[0]
    assert unconsumed == 0


def test_recv_times_out_with_its_recorded_none(wapp, conn, queue, start_wait_worker):
    """recv with a timeout and no message: the run parks until the timeout, then the recv's
    step records {"timed_out": true} and the workflow gets None; a message sent afterwards is
    not consumed by it."""
    wid = wapp.enqueue("wait_recv_timeout", 1.0, queue=queue,
                       workflow_id=_wid("timeout")).workflow_id
    start_wait_worker(queue)
    assert wapp.handle(wid).result(timeout=60) == {"got": None}
    steps = _rows(conn, "select name, output from durable.run_steps where workflow_id = %s",
                  [wid])
    assert steps == [{"name": "durable.recv", "output": {"timed_out": True}}]
    waits = _rows(conn, "select parked_at is not null as parked, outcome from durable.run_waits"
                        " where workflow_id = %s", [wid])
    assert waits == [{"parked": True, "outcome": "timed_out"}]


def test_send_from_a_workflow_is_not_sent_again_on_replay(wapp, conn, queue,
                                                          start_wait_worker):
    """A workflow sends a message, then blocks in its next step: SIGKILL. The next worker
    replays the send (its recorded message id) and the destination has the message once."""
    dest = wapp.enqueue("wait_receiver", 1, "mail", queue=queue,
                        workflow_id=_wid("dest")).workflow_id
    sender = wapp.enqueue("wait_sender", dest, True, queue=queue,
                          workflow_id=_wid("sender")).workflow_id
    first = start_wait_worker(queue, concurrency=2)
    wait_for(lambda: _events(conn, sender, "sent"), what="the sender's next step")
    first.signal(signal.SIGKILL)
    first.wait()
    start_wait_worker(queue, concurrency=2)
    assert wait_for(lambda: _finished(conn, sender), timeout=LEASE + 30) == "succeeded"
    assert wait_for(lambda: _finished(conn, dest), timeout=30) == "succeeded"

    messages = _rows(conn, "select id, sender from durable.run_messages where workflow_id = %s",
                     [dest])
    assert messages == [{"id": wapp.handle(sender).result(timeout=5), "sender": sender}]
    assert wapp.handle(dest).result(timeout=5) == [{"from": "wait_sender"}]
    sent = [e["detail"]["message_id"] for e in _events(conn, sender, "sent")]
    assert len(sent) == 2 and len(set(sent)) == 1  # the step after it ran twice, the send once


# -- events --------------------------------------------------------------------------------------


def test_get_event_from_a_client_wakes_on_listen(wapp, conn, queue, start_wait_worker):
    """A client's app.get_event waits on LISTEN durable_event with a fallback poll of an hour:
    it returns the value the workflow set after the client began to wait, so the notification
    woke it. A workflow awaiting the same event durably gets it too."""
    setter = wapp.enqueue("wait_event_setter", "status", queue=queue,
                          workflow_id=_wid("setter")).workflow_id
    waiter = wapp.enqueue("wait_event_waiter", setter, "status", queue=queue,
                          workflow_id=_wid("waiter")).workflow_id
    start_wait_worker(queue)
    wait_for(lambda: _status(conn, setter) == "waiting" and _status(conn, waiter) == "waiting",
             what="both workflows to park")
    assert wapp.get_event(setter, "status", timeout=0) is None
    got: list[Any] = []
    client = threading.Thread(target=lambda: got.append(
        wapp.get_event(setter, "status", timeout=120, poll=3600)))
    client.start()
    wait_for(lambda: _waiting_in_client(conn, "get_event"), what="the client to listen")
    wapp.send(setter, {"ready": True}, topic="go")
    client.join(130)
    assert got == [{"ready": True}]
    assert wapp.handle(waiter).result(timeout=60) == {"ready": True}
    events = _rows(conn, "select key, value from durable.run_events where workflow_id = %s",
                   [setter])
    assert events == [{"key": "status", "value": {"ready": True}}]
    with pytest.raises(durable.UnknownWorkflow):
        wapp.get_event(_wid("nobody"), "status", timeout=0)


def test_handle_result_from_a_client_wakes_on_listen(wapp, conn, queue, start_wait_worker):
    """WorkflowHandle.result from a client: LISTEN durable_finished and durable.watch, with a
    fallback poll of an hour: it returns the output of a run that finished after it began to
    wait, so the notification woke it."""
    wid = wapp.enqueue("wait_receiver", 1, "finish", queue=queue,
                       workflow_id=_wid("watched")).workflow_id
    start_wait_worker(queue)
    wait_for(lambda: _status(conn, wid) == "waiting", what="the receiver to park")
    got: list[Any] = []
    client = threading.Thread(target=lambda: got.append(
        wapp.handle(wid).result(timeout=120, poll=3600)))
    client.start()
    wait_for(lambda: _waiting_in_client(conn, "watch"), what="the client to listen")
    wapp.send(wid, "done", topic="finish")
    client.join(130)
    assert got == [["done"]]


# -- child workflows -----------------------------------------------------------------------------


def test_fifty_children_under_a_concurrency_one_parent_finish(wapp, conn, queue,
                                                              start_wait_worker):
    """A parent starts 50 children and a failing one on a worker with one slot, and waits for
    all of them in one wait: it parks, the children run in its slot, the last one wakes it, and
    it gets their outputs (the failed one as its status, then as WorkflowFailed through its
    handle). The children record their parent and deterministic ids."""
    wid = wapp.enqueue("wait_parent", 50, queue, queue=queue, workflow_id=_wid("parent")).workflow_id
    start_wait_worker(queue, concurrency=1)
    output = wapp.handle(wid).result(timeout=240)
    assert output["sum"] == sum(2 * i for i in range(50))
    assert output["statuses"] == ["failed", "succeeded"]
    assert output["first"] == 0
    assert output["failed"] == "child 50 fails on purpose"
    assert output["ids"] == [f"{wid}-{i}" for i in range(50)]
    children = _rows(conn, "select id, status from durable.runs where parent_id = %s", [wid])
    assert len(children) == 51
    assert sorted(c["status"] for c in children) == ["failed"] + ["succeeded"] * 50
    steps = [s["name"] for s in _rows(conn, "select name from durable.run_steps"
                                            " where workflow_id = %s order by step_id", [wid])]
    assert steps == ["durable.start_child"] * 51 + ["durable.await_children"] * 3


def test_a_fan_out_starts_its_children_in_one_step(wapp, conn, queue, start_wait_worker):
    """app.enqueue_many inside a workflow starts 200 children in one step (durable.start_children)
    with ids <parent>-<step>-<n>, in the parent's queue (none given), on a worker with one slot;
    one wait collects them all."""
    wid = wapp.enqueue("wait_fan_out", 200, queue=queue, workflow_id=_wid("fan")).workflow_id
    start_wait_worker(queue, concurrency=1)
    output = wapp.handle(wid).result(timeout=240)
    assert output["sum"] == sum(2 * i for i in range(200))
    assert output["ids"] == [f"{wid}-0-{n}" for n in range(1, 201)]
    steps = [s["name"] for s in _rows(conn, "select name from durable.run_steps"
                                            " where workflow_id = %s order by step_id", [wid])]
    assert steps == ["durable.start_children", "durable.await_children"]
    queues = _rows(conn, "select distinct queue from durable.runs where parent_id = %s", [wid])
    assert queues == [{"queue": queue}]


def test_cancelling_a_parent_cancels_its_children(wapp, conn, queue, start_wait_worker):
    """A parent waits for three children that wait forever, and has two detached ones:
    cancelling the parent cancels the three (error type Cancelled) but not the detached ones;
    a client waiting on the parent gets WorkflowCancelled."""
    wid = wapp.enqueue("wait_parent_of_waiters", 3, 2, queue, queue=queue,
                       workflow_id=_wid("tree")).workflow_id
    start_wait_worker(queue)

    def all_parked() -> bool:
        rows = _rows(conn, "select status from durable.runs where id = %s or parent_id = %s",
                     [wid, wid])
        return len(rows) == 6 and {r["status"] for r in rows} == {"waiting"}

    wait_for(all_parked, timeout=60, what="the parent and its children to park")
    parent = _rows(conn, "select waiting_for from durable.runs where id = %s", [wid])[0]
    assert parent["waiting_for"].startswith("children (3 of 3 unfinished)")
    assert wapp.cancel(wid) == "cancelled"
    with pytest.raises(durable.WorkflowCancelled):
        wapp.handle(wid).result(timeout=10)
    children = _rows(conn, "select id, status, error from durable.runs w where parent_id = %s"
                           " order by id", [wid])
    attached = [c for c in children if c["id"] in {f"{wid}-{i}" for i in range(3)}]
    detached = [c for c in children if c not in attached]
    assert [c["status"] for c in attached] == ["cancelled"] * 3
    assert {c["error"]["type"] for c in attached} == {"Cancelled"}
    assert [c["status"] for c in detached] == ["waiting", "waiting"]


# -- deadlines -----------------------------------------------------------------------------------


def test_a_deadline_cancels_a_running_workflow(wapp, conn, queue, start_wait_worker):
    """A workflow enqueued with timeout=2 whose steps take longer: the SQL cancels it when its
    deadline passes (error type DeadlineExceeded), the worker stops it (its step told to
    stop), and its second step never runs. The worker is started first: the deadline runs from
    the enqueue, and a worker slow to start (a busy machine) would find the run cancelled
    before it ever claimed it."""
    worker = start_wait_worker(queue)
    wid = wapp.enqueue("wait_busy", 30, queue=queue, workflow_id=_wid("deadline"),
                       timeout=2).workflow_id
    deadline = _rows(conn, "select deadline - run_at as timeout from durable.runs"
                           " where id = %s", [wid])[0]["timeout"]
    assert deadline.total_seconds() == 2
    assert wait_for(lambda: _finished(conn, wid), timeout=60) == "cancelled"
    error = _rows(conn, "select error from durable.runs where id = %s", [wid])[0]["error"]
    assert error["type"] == "DeadlineExceeded"
    with pytest.raises(durable.WorkflowCancelled):
        wapp.handle(wid).result(timeout=5)
    wait_for(lambda: _events(conn, wid, "told to stop"), timeout=30,
             what="the worker to stop the step")
    assert [e["phase"] for e in _events(conn, wid)] == ["busy", "told to stop"]
    assert worker.proc.poll() is None  # the worker goes on


def test_a_registered_default_timeout_gives_a_deadline(wapp, conn, queue, start_wait_worker):
    """@app.workflow(timeout=3600): the worker registers it (durable.workflow_types.timeout),
    so an enqueue from SQL gets the deadline too; app.enqueue passes it itself."""
    start_wait_worker(queue)
    registered = conn.execute("select timeout from durable.workflow_types"
                              " where name = 'wait_default_timeout'").fetchone()[0]
    assert registered.total_seconds() == 3600
    from_sql = conn.execute("select workflow_id from durable.enqueue('wait_default_timeout',"
                            " p_queue => %s)", [queue]).fetchone()[0]
    from_app = wapp.enqueue("wait_default_timeout", queue=queue).workflow_id
    many = wapp.enqueue_many("wait_default_timeout", [[]], queue=queue, timeout=60)[0].workflow_id
    rows = {r["id"]: r["t"].total_seconds() for r in _rows(
        conn, "select id, deadline - run_at as t from durable.runs where id = any(%s)",
        [[from_sql, from_app, many]])}
    assert rows == {from_sql: 3600, from_app: 3600, many: 60}
    for wid in (from_sql, from_app, many):
        assert wapp.handle(wid).result(timeout=60) == "ok"


# -- outside a workflow --------------------------------------------------------------------------


def test_workflow_calls_outside_a_workflow_say_where_to_call_them(wapp):
    """durable.sleep, recv, send, set_event, get_event and wait_all outside workflow code raise
    NotInWorkflow (a RuntimeError) that says to call them from workflow code."""
    calls = [lambda: durable.sleep(1), lambda: durable.recv(), lambda: durable.send("x", 1),
             lambda: durable.set_event("k", 1), lambda: durable.get_event("x", "k"),
             lambda: durable.wait_all(["x"]), lambda: durable.wait_all([])]
    for call in calls:
        with pytest.raises(durable.NotInWorkflow, match="call it from workflow code"):
            call()
    assert issubclass(durable.NotInWorkflow, RuntimeError)


# -- the CLI -------------------------------------------------------------------------------------


def test_cli_send_list_and_show_say_what_a_run_waits_for(wapp, dsn, conn, queue,
                                                          start_wait_worker):
    """durable list and show give what a waiting run waits for and since when, show lists a
    parent's children, and durable send wakes a receiver (--key sends once)."""
    from click.testing import CliRunner

    from durable.cli import main

    def cli(*args: str) -> Any:
        return CliRunner().invoke(main, ["--dsn", dsn, *args], catch_exceptions=False)

    parent = wapp.enqueue("wait_parent_of_waiters", 2, 0, queue, queue=queue,
                          workflow_id=_wid("cli-parent")).workflow_id
    start_wait_worker(queue)
    wait_for(lambda: {r["status"] for r in _rows(
        conn, "select status from durable.runs where id = %s or parent_id = %s",
        [parent, parent])} == {"waiting"} and _status(conn, f"{parent}-1") == "waiting",
        timeout=60, what="the parent and its children to park")

    listed = json.loads(cli("list", "--queue", queue, "--json").output)
    by_id = {r["id"]: r for r in listed}
    assert by_id[parent]["waiting_for"] == "children (2 of 2 unfinished)"
    assert by_id[f"{parent}-0"]["waiting_for"] == "message on topic never"
    assert all(by_id[i]["waiting_since"] for i in (parent, f"{parent}-0", f"{parent}-1"))
    assert "WAITING_FOR" in cli("list", "--queue", queue).output

    shown = cli("show", parent)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert "waiting_for:  children (2 of 2 unfinished)" in lines
    assert any(line.startswith("waiting_since: ") for line in lines)
    assert "children (2):" in lines
    assert f"{parent}-0" in shown.output and f"{parent}-1" in shown.output
    data = json.loads(cli("show", parent, "--json").output)
    assert sorted(c["id"] for c in data["children"]) == [f"{parent}-0", f"{parent}-1"]
    assert [e["kind"] for e in data["timeline"]][-1] == "wait"

    for child in (f"{parent}-0", f"{parent}-1"):
        sent = cli("send", child, '{"hello": 1}', "--topic", "never", "--key", "k", "--json")
        assert sent.exit_code == 0, sent.output
        again = cli("send", child, '{"hello": 2}', "--topic", "never", "--key", "k", "--json")
        assert json.loads(again.output)["message_id"] == json.loads(sent.output)["message_id"]
    assert wapp.handle(parent).result(timeout=60) == ["succeeded", "succeeded"]
    assert wapp.handle(f"{parent}-0").result(timeout=5) == {"hello": 1}
    bad = cli("send", parent, "{nope")
    assert bad.exit_code == 2 and "not JSON" in bad.output
    finished = cli("send", parent, "1")
    assert finished.exit_code == 1 and "DU013" in finished.output
