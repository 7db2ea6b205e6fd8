"""Async workflows run by real worker processes: async steps, sync and async workflows on one
worker, hundreds of async runs at once on one event loop, steps gathered with a SIGKILL in the
middle, cancellation and failures that stay in their own run, durable waits and children."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import durable
import durable_asyncapp
from conftest import HERE, LEASE, recorded_steps, status_of, wait_for
from durable.aio import AsyncDurable


@pytest.fixture(scope="module", autouse=True)
def _schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(durable_asyncapp.SCHEMA)


class AsyncWorkerProcess:
    """A real `durable worker durable_asyncapp:app` process."""

    def __init__(self, dsn: str, queue: str, log: Path, extra: tuple[str, ...] = ()):
        self.worker_id = f"atest-{uuid.uuid4().hex[:8]}"
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in kill()
        env = dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "durable_asyncapp:app", "--path",
             str(HERE), "--queues", queue, "--concurrency", "2", "--lease-timeout", str(LEASE),
             "--poll-interval", "0.5", "--worker-id", self.worker_id, *extra],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=HERE)
        self.pid = self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_async_worker(dsn: str, conn: psycopg.Connection, tmp_path: Path
                       ) -> Iterator[Callable[..., AsyncWorkerProcess]]:
    started: list[AsyncWorkerProcess] = []

    def start(queue: str, *extra: str) -> AsyncWorkerProcess:
        worker = AsyncWorkerProcess(dsn, queue, tmp_path / f"aworker-{len(started)}.log", extra)
        started.append(worker)
        wait_for(lambda: worker.proc.poll() is not None or conn.execute(
            "select 1 from durable.worker_status where id = %s", [worker.worker_id]).fetchone(),
            what="the worker to register")
        assert worker.proc.poll() is None, worker.log()
        return worker

    yield start
    for worker in started:
        worker.kill()


@pytest.fixture
def aapp(dsn: str) -> Iterator[durable.Durable]:
    durable_asyncapp.app.dsn = dsn
    yield durable_asyncapp.app
    durable_asyncapp.app.close()


def effects(conn: psycopg.Connection, workflow_id: str) -> list[tuple[str, str, int]]:
    return [tuple(r) for r in conn.execute(
        "select step, phase, pid from asyncapp.effects where workflow_id = %s order by id",
        [workflow_id]).fetchall()]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_async_workflow_with_async_and_sync_steps_runs_beside_a_sync_workflow(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    worker = start_async_worker(queue)
    h_async = aapp.enqueue(durable_asyncapp.pipeline, 4, queue=queue)
    h_sync = aapp.enqueue(durable_asyncapp.sync_pipeline, 7, queue=queue)
    out = h_async.result(timeout=30)
    assert out == {"a": 5, "b": 10, "pid": worker.pid, "gathered": ["slow", "quick"]}
    assert h_sync.result(timeout=30) == {"inc": 8, "pid": worker.pid}
    # positions in call order, whichever step finished first (quick finishes before slow)
    steps = recorded_steps(conn, h_async.workflow_id)
    assert [(s["step_id"], s["name"], s["output"]) for s in steps] == [
        (0, "async_inc", 5), (1, "sync_double", {"double": 10, "pid": worker.pid}),
        (2, "fx", "slow"), (3, "fx", "quick")]
    assert [s["name"] for s in recorded_steps(conn, h_sync.workflow_id)] == ["async_inc"]
    assert "Traceback" not in worker.log()


def test_gathered_steps_after_a_sigkill_each_recorded_once_none_run_again(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection, tmp_path: Path,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    gate = str(tmp_path / "gate")
    first = start_async_worker(queue)
    handle = aapp.enqueue(durable_asyncapp.gathered, gate, queue=queue)
    wid = handle.workflow_id
    # positions 1 and 2 (a, b) are recorded while position 0 (c) still waits for its gate
    wait_for(lambda: conn.execute("select count(*) from durable.steps where workflow_id = %s",
                                  [wid]).fetchone()[0] == 2, what="a and b recorded")
    recorded = {r[0]: r[1] for r in conn.execute(
        "select step_id, name from durable.steps where workflow_id = %s", [wid])}
    assert recorded == {1: "fx", 2: "fx"}
    assert sorted(e[0] for e in effects(conn, wid)) == ["a", "b", "c"]
    first.kill()  # SIGKILL, in the middle of the gathered steps
    open(gate, "w").close()
    second = start_async_worker(queue)
    assert handle.result(timeout=30) == ["c", "a", "b", "d"]
    ran = effects(conn, wid)
    by_step: dict[str, list[int]] = {}
    for step, _, pid in ran:
        by_step.setdefault(step, []).append(pid)
    # a and b were recorded before the kill: never run again; c ran again (it was not recorded)
    assert by_step == {"a": [first.pid], "b": [first.pid], "c": [first.pid, second.pid],
                       "d": [second.pid]}
    steps = recorded_steps(conn, wid)
    assert [(s["step_id"], s["output"]) for s in steps] == [(0, "c"), (1, "a"), (2, "b"),
                                                            (3, "d")]


def test_hundreds_of_async_runs_wait_at_once_in_one_process_on_few_connections(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection, tmp_path: Path,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    n = 250
    gate = str(tmp_path / "gate")
    batch = uuid.uuid4().hex[:8]
    worker = start_async_worker(queue, "--async-concurrency", "300", "--async-connections", "3")
    handles = aapp.enqueue_many(durable_asyncapp.crowd, [[batch, n, gate]] * n, queue=queue)
    # every run is in its barrier step at once (it waits until n of them arrived)
    wait_for(lambda: conn.execute(
        "select count(*) from durable.runs where queue = %s and status = 'running'",
        [queue]).fetchone()[0] == n, timeout=60, what="all runs running")

    def used() -> int:
        return conn.execute("select count(*) from pg_stat_activity where application_name = %s",
                            [f"durable async {worker.worker_id}"]).fetchone()[0]

    assert used() <= 3  # a run waiting in a step holds no connection
    open(gate, "w").close()
    outs = [h.result(timeout=120) for h in handles]
    assert {o["pid"] for o in outs} == {worker.pid}
    assert all(o["arrived"] == n for o in outs)
    assert 1 <= used() <= 3  # their 250 checkpoints and completions went on 3 at most


def test_cancel_stops_an_async_run_and_the_loop_goes_on(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    worker = start_async_worker(queue)

    async def scenario() -> Any:
        async with AsyncDurable(aapp) as client:
            handle = await client.enqueue(durable_asyncapp.long_one, "sleepy", queue=queue)
            await asyncio.to_thread(wait_for, lambda: ("sleepy", "started", worker.pid) in
                                    effects(conn, handle.workflow_id), what="step started")
            assert await handle.cancel() == "cancelled"
            with pytest.raises(durable.WorkflowCancelled):
                await handle.result(timeout=10)
            # the loop still runs other async workflows
            other = await client.enqueue(durable_asyncapp.napper, 0.01, queue=queue)
            return handle.workflow_id, await other.result(timeout=30)

    wid, other = run(scenario())
    assert other == 0.01
    # the step was cancelled at its await (its CancelledError recorded), not left sleeping
    wait_for(lambda: ("sleepy", "cancelled", worker.pid) in effects(conn, wid),
             what="the step's cancellation")
    assert status_of(conn, wid) == "cancelled"
    assert recorded_steps(conn, wid) == []
    assert worker.proc.poll() is None


def test_an_exception_in_one_async_run_leaves_the_others_alone(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    worker = start_async_worker(queue)
    naps = aapp.enqueue_many(durable_asyncapp.napper, [[0.2]] * 5, queue=queue)
    bad = aapp.enqueue(durable_asyncapp.failing, 0.05, queue=queue)
    with pytest.raises(durable.WorkflowFailed) as failed:
        bad.result(timeout=30)
    # the step's exception, not caught by the workflow, is the run's error as its own class
    # (durable.values: raised again as CardDeclined, also a WorkflowFailed)
    assert failed.value.error["type"] == "durable_asyncapp.CardDeclined"
    assert isinstance(failed.value, durable_asyncapp.CardDeclined)
    assert [h.result(timeout=30) for h in naps] == [0.2] * 5
    # the worker's log lines carry the error, not only the status: the step's failed try and
    # the run's end (as a sync run's do)
    wid = bad.workflow_id
    wait_for(lambda: any(wid in line and ": failed: durable_asyncapp.CardDeclined: declined" in line
                         for line in worker.log().splitlines()), what="the run's failed line")
    assert any(f"{wid}: step 0 boom failed (try 1): durable_asyncapp.CardDeclined: declined; "
               "no retry left" in line for line in worker.log().splitlines()), worker.log()


def test_durable_waits_and_children_in_async_workflows(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    start_async_worker(queue)

    async def scenario() -> Any:
        async with AsyncDurable(aapp) as client:
            source = await client.enqueue(durable_asyncapp.setter, 42, queue=queue)
            handle = await client.enqueue(durable_asyncapp.waiter, source.workflow_id,
                                          queue=queue)
            assert await client.get_event(handle.workflow_id, "ready", timeout=30) == {
                "at": "ready"}
            await asyncio.to_thread(wait_for, lambda: status_of(conn, handle.workflow_id)
                                    == "waiting", what="the run parked on recv")
            await client.send(handle.workflow_id, {"go": 1}, topic="go")
            parent = await client.enqueue(durable_asyncapp.parent, 1, queue=queue)
            return handle.workflow_id, await handle.result(timeout=30), \
                await parent.result(timeout=60)

    wid, out, kids = run(scenario())
    assert out == {"message": {"go": 1}, "event": 42}
    assert kids == [2, 12, 22]
    names = [s["name"] for s in recorded_steps(conn, wid)]
    assert names == ["durable.sleep", "durable.set_event", "durable.recv", "durable.get_event"]


def test_a_lost_lease_cancels_only_that_async_run(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    first = start_async_worker(queue)
    handle = aapp.enqueue(durable_asyncapp.long_one, "held", queue=queue)
    wid = handle.workflow_id
    wait_for(lambda: ("held", "started", first.pid) in effects(conn, wid), what="step started")
    first.proc.send_signal(signal.SIGSTOP)  # its heartbeat stops: the lease expires
    try:
        second = start_async_worker(queue)
        wait_for(lambda: ("held", "started", second.pid) in effects(conn, wid), timeout=30,
                 what="the run reclaimed by the second worker")
    finally:
        first.proc.send_signal(signal.SIGCONT)
    # the first worker's heartbeat finds the run gone: its task is cancelled at its await
    wait_for(lambda: ("held", "cancelled", first.pid) in effects(conn, wid), timeout=30,
             what="the first worker's copy cancelled")
    assert ("held", "cancelled", second.pid) not in effects(conn, wid)
    # the first worker's loop goes on with other runs (the second worker is gone)
    second.kill()
    later = aapp.enqueue_many(durable_asyncapp.napper, [[0.01]] * 4, queue=queue)
    assert [h.result(timeout=30) for h in later] == [0.01] * 4
    assert first.proc.poll() is None
    assert "lease lost" in first.log() or "no longer held" in first.log()
    assert handle.cancel() == "cancelled"


def test_a_worker_holding_more_than_a_claims_limit_claims_in_parts(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    """concurrency + async_concurrency above 1,000 (durable.claim's p_max): each claim asks for
    1,000 at most instead of being refused (DU011), which stopped the worker."""
    worker = start_async_worker(queue, "--async-concurrency", "1200")
    handles = aapp.enqueue_many(durable_asyncapp.napper, [[0.01]] * 3, queue=queue)
    assert [h.result(timeout=30) for h in handles] == [0.01] * 3
    assert worker.proc.poll() is None
    assert "DU011" not in worker.log()


def test_sigterm_cancels_async_runs_after_the_grace_and_hands_them_back(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    worker = start_async_worker(queue, "--grace", "0.5")
    handle = aapp.enqueue(durable_asyncapp.long_one, "term", queue=queue)
    wid = handle.workflow_id
    wait_for(lambda: ("term", "started", worker.pid) in effects(conn, wid), what="step started")
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(30) == 0, worker.log()
    assert ("term", "cancelled", worker.pid) in effects(conn, wid)
    assert status_of(conn, wid) == "pending"  # released (durable.release), not failed
    assert recorded_steps(conn, wid) == []
    assert handle.cancel() == "cancelled"


def _runner_figures(log: str) -> tuple[int, int]:
    """(connections made, most statements in flight on one) from the runner's stop line."""
    import re

    found = re.findall(r"async runner: (\d+) connections made, at most (\d+) statements", log)
    assert found, log
    return int(found[-1][0]), int(found[-1][1])


def test_statements_of_many_runs_in_flight_on_one_connection_are_answered_each_alone(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    """The runner's connections are in pipeline mode: the checkpoints and completions of many
    runs are in flight on one connection at once, each with its own Sync, so the one the SQL
    refuses (a step's output over max_payload_bytes: DU008) fails its own step only."""
    (limit,) = conn.execute("select max_payload_bytes from durable.settings").fetchone()
    conn.execute("update durable.settings set max_payload_bytes = 10000")
    try:
        worker = start_async_worker(queue, "--async-concurrency", "200",
                                    "--async-connections", "1")
        good = aapp.enqueue_many(durable_asyncapp.hops, [[5]] * 100, queue=queue)
        bad = aapp.enqueue_many(durable_asyncapp.too_big, [[20000]] * 5, queue=queue)
        assert [h.result(timeout=60) for h in good] == [5] * 100
        for h in bad:
            with pytest.raises(durable.WorkflowFailed) as failed:
                h.result(timeout=60)
            assert failed.value.error["cause"]["type"] == "durable.errors.PayloadTooLarge"
    finally:
        conn.execute("update durable.settings set max_payload_bytes = %s", [limit])
    assert all([s["step_id"] for s in recorded_steps(conn, h.workflow_id)] == [0, 1, 2, 3, 4]
               for h in good)
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(30) == 0, worker.log()
    made, deepest = _runner_figures(worker.log())
    assert made == 1
    assert deepest > 1  # statements of several runs were in flight on it at once


def test_async_connections_terminated_under_runs_are_remade_and_nothing_is_lost(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    """pg_terminate_backend on the runner's connections while their statements are in flight:
    the answers lost are sent again on new connections under the same leases (a checkpoint
    sent again is answered "recorded before"), and every run ends with each step once."""
    worker = start_async_worker(queue, "--async-concurrency", "100",
                                "--async-connections", "2")
    handles = aapp.enqueue_many(durable_asyncapp.hops, [[20]] * 50, queue=queue)
    ids = [h.workflow_id for h in handles]

    def steps_done() -> int:
        return conn.execute("select count(*) from durable.steps where workflow_id = any(%s)",
                            [ids]).fetchone()[0]

    for k in range(3):
        wait_for(lambda k=k: steps_done() >= 150 * (k + 1), timeout=60, what="steps recorded")
        conn.execute("select pg_terminate_backend(pid) from pg_stat_activity"
                     " where application_name = %s", [f"durable async {worker.worker_id}"])
    assert [h.result(timeout=120) for h in handles] == [20] * 50
    for wid in ids:
        assert [s["step_id"] for s in recorded_steps(conn, wid)] == list(range(20))
    assert worker.proc.poll() is None
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(30) == 0, worker.log()
    made, _ = _runner_figures(worker.log())
    assert made > 2  # the terminated ones were replaced
    assert "Traceback" not in worker.log()


def ledger(conn: psycopg.Connection, workflow_id: str) -> list[tuple[str, int]]:
    return [tuple(r) for r in conn.execute(
        "select step, pid from asyncapp.ledger where workflow_id = %s order by id",
        [workflow_id]).fetchall()]


def test_async_transactional_step_killed_before_its_commit_leaves_no_write_and_no_checkpoint(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection, tmp_path: Path,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    gate, after = str(tmp_path / "gate"), str(tmp_path / "after")
    first = start_async_worker(queue)
    handle = aapp.enqueue(durable_asyncapp.booking, gate, after, queue=queue)
    wid = handle.workflow_id
    # its ledger row is written (not committed): the step waits for its gate
    wait_for(lambda: ("book", "ran", first.pid) in effects(conn, wid), what="the step ran")
    first.kill()  # SIGKILL between the step's writes and its checkpoint
    assert ledger(conn, wid) == []
    assert recorded_steps(conn, wid) == []
    open(gate, "w").close()
    open(after, "w").close()
    second = start_async_worker(queue)
    assert handle.result(timeout=30) == [second.pid, "after"]
    # run again (it was not recorded), written once: by the try whose checkpoint committed
    assert [e[2] for e in effects(conn, wid) if e[0] == "book"] == [first.pid, second.pid]
    assert ledger(conn, wid) == [("book", second.pid)]
    assert [(s["step_id"], s["name"]) for s in recorded_steps(conn, wid)] == [
        (0, "book"), (1, "gated")]


def test_async_transactional_step_killed_after_its_commit_is_not_run_again(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection, tmp_path: Path,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    gate, after = str(tmp_path / "gate"), str(tmp_path / "after")
    open(gate, "w").close()
    first = start_async_worker(queue)
    handle = aapp.enqueue(durable_asyncapp.booking, gate, after, queue=queue)
    wid = handle.workflow_id
    wait_for(lambda: ("after", "ran", first.pid) in effects(conn, wid), what="the next step")
    first.kill()  # SIGKILL after the transactional step committed
    # its write and its checkpoint are both there
    assert ledger(conn, wid) == [("book", first.pid)]
    assert [(s["step_id"], s["output"]) for s in recorded_steps(conn, wid)] == [(0, first.pid)]
    open(after, "w").close()
    start_async_worker(queue)
    assert handle.result(timeout=30) == [first.pid, "after"]
    assert [e[2] for e in effects(conn, wid) if e[0] == "book"] == [first.pid]  # replayed
    assert ledger(conn, wid) == [("book", first.pid)]


def test_async_transactional_step_failed_try_rolls_back_its_writes(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    start_async_worker(queue)
    handle = aapp.enqueue(durable_asyncapp.flaky_booking, queue=queue)
    assert handle.result(timeout=30) == 2
    assert [r[0] for r in ledger(conn, handle.workflow_id)] == ["flaky"]  # the second try's
    refused = aapp.enqueue(durable_asyncapp.sync_booking, queue=queue)
    with pytest.raises(durable.WorkflowFailed) as failed:
        refused.result(timeout=30)
    assert failed.value.error["type"] == "TypeError"
    assert "AsyncConnection" in failed.value.error["message"]
    assert ledger(conn, refused.workflow_id) == []


def test_async_transactional_step_whose_connection_dies_runs_again_on_a_new_one(
        aapp: durable.Durable, queue: str, conn: psycopg.Connection,
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:
    """Its session terminated under it (after its write, before its checkpoint): nothing of
    that try committed, and it runs again on a new connection without using a try."""
    worker = start_async_worker(queue)
    handle = aapp.enqueue(durable_asyncapp.severing, queue=queue)
    assert handle.result(timeout=30) == 1  # try 1 again: the lost one did not count
    assert ledger(conn, handle.workflow_id) == [("severed", worker.pid)]
    assert [e[0] for e in effects(conn, handle.workflow_id)] == ["severed"]
    assert "connection lost in transactional step" in worker.log()


def test_async_transactional_step_outside_a_workflow_commits_on_its_own(
        aapp: durable.Durable, conn: psycopg.Connection) -> None:
    """Called outside a workflow it is a plain call in a transaction of its own."""
    conn.execute("delete from asyncapp.ledger where workflow_id = 'plain'")
    assert run(durable_asyncapp.note("outside")) == "outside"
    assert [r[0] for r in ledger(conn, "plain")] == ["outside"]

    async def failing() -> int:
        return await durable_asyncapp.flaky_book("outside-failed")

    with pytest.raises(RuntimeError, match="not inside a durable step"):
        run(failing())  # its row is rolled back with its transaction
    assert [r[0] for r in ledger(conn, "plain")] == ["outside"]
    assert conn.execute("select count(*) from asyncapp.ledger where step = 'outside-failed'"
                        ).fetchone()[0] == 0
