"""Cron schedules with real worker processes (durable_schedapp:app, a schedule of every second):
three workers start each tick exactly once; a worker down for 10 s follows the missed-tick
policy when it comes back. Assertions are on which ticks ran, never on how fast."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

import durable
import durable_schedapp
from conftest import HERE, wait_for

LEASE = 1.5  # heartbeats, and so materializations, every 0.5 s


class SchedWorker:
    """A real `durable worker durable_schedapp:app` process with the schedule's settings."""

    def __init__(self, dsn: str, queue: str, log: Path, env: dict[str, str]):
        self.worker_id = f"sched-{uuid.uuid4().hex[:8]}"
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.log_path = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "durable_schedapp:app", "--path", str(HERE),
             "--queues", queue, "--concurrency", "4", "--lease-timeout", str(LEASE),
             "--poll-interval", "0.5", "--grace", "5", "--worker-id", self.worker_id],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=HERE,
            env=dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1", **env))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)
        self._log.close()


@pytest.fixture
def sched(dsn: str, conn: psycopg.Connection, queue: str, tmp_path: Path):
    """sched(missed, grace) -> (name, start): start() starts a worker of that schedule."""
    conn.execute(durable_schedapp.SCHEMA)
    workers: list[SchedWorker] = []

    def make(missed: str = "skip", grace: float = 60.0):
        name = f"s-{uuid.uuid4().hex[:8]}"
        env = {"DURABLE_SCHED_NAME": name, "DURABLE_SCHED_QUEUE": queue,
               "DURABLE_SCHED_MISSED": missed, "DURABLE_SCHED_GRACE": str(grace)}

        def start() -> SchedWorker:
            worker = SchedWorker(dsn, queue, tmp_path / f"worker-{len(workers)}.log", env)
            workers.append(worker)
            wait_for(lambda: worker.proc.poll() is not None or conn.execute(
                "select 1 from durable.worker_status where id = %s", [worker.worker_id]).fetchone(),
                what="the worker to register")
            assert worker.proc.poll() is None, worker.log_path.read_text()
            return worker

        return name, start

    yield make
    for worker in workers:
        worker.stop(signal.SIGKILL)


def _tick(name: str, workflow_id: str) -> datetime:
    """The tick of workflow sched:<name>:<tick in UTC>."""
    return datetime.strptime(workflow_id.removeprefix(f"sched:{name}:"), "%Y-%m-%dT%H:%M:%SZ"
                             ).replace(tzinfo=timezone.utc)


def _runs(conn: psycopg.Connection, name: str) -> list[tuple[datetime, str, datetime, int]]:
    """(tick, status, created_at, executions) of the schedule's workflows, by tick."""
    rows = conn.execute(
        "select r.id, r.status, r.created_at,"
        " (select count(*) from schedapp.runs x where x.workflow_id = r.id)"
        " from durable.runs r where r.id like %s", [f"sched:{name}:20%"]).fetchall()
    return sorted((_tick(name, i), s, c, n) for i, s, c, n in rows)


def _finish(conn: psycopg.Connection, name: str) -> list[tuple[datetime, str, datetime, int]]:
    """Pause the schedule (CLI), wait until its runs are done, and return them."""
    out = subprocess.run([sys.executable, "-m", "durable", "--dsn", conn.info.dsn, "schedules",
                          "pause", name], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "paused" in out.stdout, out.stdout + out.stderr
    wait_for(lambda: all(s == "succeeded" for _, s, _, _ in _runs(conn, name)), timeout=60,
             what="the scheduled runs to finish")
    return _runs(conn, name)


def _consecutive(ticks: list[datetime]) -> bool:
    return all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(ticks))


def test_three_workers_run_each_tick_of_a_per_second_schedule_once(sched, conn):
    name, start = sched()
    workers = [start() for _ in range(3)]
    time.sleep(30)
    runs = _finish(conn, name)
    for worker in workers:
        worker.stop()
    ticks = [t for t, _, _, _ in runs]
    assert len(ticks) >= 10, runs
    assert _consecutive(ticks), f"a tick is missing: {ticks}"
    assert all(n == 1 for _, _, _, n in runs), "a tick ran twice or not at all"
    status = conn.execute("select last_tick, enabled from durable.schedule_status where name = %s",
                          [name]).fetchone()
    assert status == (ticks[-1], False)
    # every worker set the same schedule: one row
    assert conn.execute("select count(*) from durable.schedules where name = %s",
                        [name]).fetchone()[0] == 1


@pytest.mark.parametrize("missed", ["skip", "once", "all"])
def test_a_worker_down_for_ten_seconds_follows_the_missed_tick_policy(sched, conn, missed):
    grace = 2.0
    name, start = sched(missed, grace)
    worker = start()
    wait_for(lambda: len(_runs(conn, name)) >= 3, timeout=30, what="three ticks")
    worker.stop(signal.SIGKILL)
    before = _runs(conn, name)
    time.sleep(10)
    start()
    wait_for(lambda: len(_runs(conn, name)) > len(before) + 3, timeout=30,
             what="ticks after the restart")
    runs = _finish(conn, name)
    assert all(n == 1 for _, _, _, n in runs), "a tick ran twice or not at all"
    last_before = max(t for t, _, _, _ in before)
    after = [(t, c) for t, _, c, _ in runs if t > last_before]
    # the first materialization after the restart: the workflows it enqueued share its time
    first_call = min(c for _, c in after)
    batch = sorted(t for t, c in after if c == first_call)
    cut = first_call - timedelta(seconds=grace)
    missed_ticks = [t for t in batch if t < cut]
    on_time = [t for t in batch if t >= cut]
    assert on_time and _consecutive(on_time), batch
    assert _consecutive([t for t, _ in sorted(after) if t >= on_time[0]]), after
    if missed == "skip":
        assert missed_ticks == [], batch
        assert on_time[0] - last_before > timedelta(seconds=5), "the missed ticks were skipped"
    elif missed == "once":
        assert len(missed_ticks) == 1, batch
        assert missed_ticks[0] == on_time[0] - timedelta(seconds=1), "the latest missed tick ran"
        assert missed_ticks[0] - last_before > timedelta(seconds=5), "only the latest ran"
    else:
        ticks = [t for t, _, _, _ in runs]
        assert _consecutive(ticks), f"all: every tick, none missing: {ticks}"
        assert len(missed_ticks) >= 5, batch


@pytest.mark.parametrize("call", ["pause", "resume", "trigger"])
def test_an_unknown_schedule_raises_its_own_exception(conn, call):
    from durable import schedules

    with pytest.raises(durable.UnknownSchedule) as raised:
        getattr(schedules, call)(conn, f"no-such-{uuid.uuid4().hex[:6]}")
    assert raised.value.sqlstate == "DU017"
    assert isinstance(raised.value, durable.SQLError)
