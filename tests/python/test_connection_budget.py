"""The connection budget (issue 16): Worker(connections=N) runs 64 slots on a shared pool.

A worker's server connections are counted in pg_stat_activity by their application_name (each
ends with the worker's id) while 64 slots are busy: one connection per slot plus main,
heartbeat and listener without the option (67), at most N + 3 with it. The figures are printed
(pytest -s); the bound is asserted, not any timing.
"""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest

import durable
from conftest import wait_for
from durable import db

budget_app = durable.Durable()


@budget_app.step()
def pause(seconds: float) -> float:
    """Sleeps: the slot holds no connection of the pool meanwhile."""
    time.sleep(seconds)
    return seconds


@budget_app.transaction()
def book(conn: psycopg.Connection, n: int) -> int:
    """A transactional step: it holds a pool's connection for its transaction."""
    conn.execute("create table if not exists budget_ledger (n integer)")
    conn.execute("insert into budget_ledger values (%s)", [n])
    return n


@budget_app.workflow(name="budget_flow")
def budget_flow(n: int) -> int:
    """Two pauses around a transactional step."""
    pause(0.05)
    book(n)
    pause(0.05)
    return n


def _held(conn: psycopg.Connection, worker_id: str) -> int:
    return conn.execute(
        "select count(*) from pg_stat_activity where datname = current_database()"
        " and application_name like %s", [f"% {worker_id}"]).fetchone()[0]


def _drain(dsn: str, conn: psycopg.Connection, connections: int | None, n: int = 256,
           backpressure: bool = False, concurrency: int = 64
           ) -> tuple[int, int, list[int], dict]:
    """Run n workflows on a worker with 64 slots; (most connections seen, the worker's own
    count at the end, outputs, its durable.worker_status row once its heartbeat reported)."""
    queue = f"budget-{uuid.uuid4().hex[:8]}"
    conn.execute("select * from durable.set_queue(%s)", [queue])
    budget_app.dsn = dsn
    worker = durable.Worker(budget_app, queues=[queue], concurrency=concurrency,
                            connections=connections,
                            lease_timeout=1.5, poll_interval=0.2, grace=2,
                            backpressure=backpressure)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    try:
        handles = budget_app.enqueue_many(budget_flow, [[i] for i in range(n)], queue=queue)
        most = 0
        while not all(h.status() in ("succeeded", "failed") for h in handles[-8:]):
            most = max(most, _held(conn, worker.worker_id))
            time.sleep(0.02)
        outputs = [h.result(timeout=60) for h in handles]
        most = max(most, _held(conn, worker.worker_id))
        status = wait_for(lambda: [r for r in db.worker_status(conn, worker.worker_id)
                                   if r["connections"] is not None],
                          what="the heartbeat's report")[0]
        return most, worker.held_connections(), outputs, status
    finally:
        worker.stop(hurry=True)
        thread.join(20)
        budget_app.close()


@pytest.mark.parametrize("connections", [8, 2])
def test_64_slots_on_a_pool_hold_at_most_connections_plus_three(dsn, conn, connections):
    """64 busy slots with connections=N: the worker never holds more than N + 3 server
    connections (the pool's N, main, heartbeat, listener), and every workflow (a transactional
    step among plain ones) succeeds."""
    most, counted, outputs, status = _drain(dsn, conn, connections)
    print(f"\n64 slots, connections={connections}: at most {most} server connections seen "
          f"(bound {connections + 3}); the worker counts {counted}")
    assert outputs == list(range(256))
    assert most <= connections + 3
    assert counted <= connections + 3
    assert 3 <= status["connections"] <= connections + 3  # its heartbeat's report
    assert status["concurrency_limit"] is None  # no back-pressure


def test_back_pressure_reports_its_limit_and_runs_everything(dsn, conn):
    """With back-pressure on, every workflow still runs, and the heartbeat reports the adaptive
    limit (between its floor, 2, and the capacity, 64) in durable.worker_status."""
    most, _counted, outputs, status = _drain(dsn, conn, 8, backpressure=True)
    print(f"\n64 slots, connections=8, back-pressure: at most {most} server connections; "
          f"limit reported {status['concurrency_limit']}")
    assert outputs == list(range(256))
    assert 2 <= status["concurrency_limit"] <= 64


def test_slots_without_the_option_hold_one_connection_each(dsn, conn):
    """The baseline: one connection per busy slot, plus main, heartbeat and listener (16 slots
    here, not 64: the test server is shared, and 67 connections may exceed its
    max_connections, which is what the option is for)."""
    most, counted, outputs, status = _drain(dsn, conn, None, n=64, concurrency=16)
    print(f"\n16 slots, one connection per slot: at most {most} server connections seen; the "
          f"worker counts {counted}")
    assert outputs == list(range(64))
    assert counted == 19
    assert most <= 19
    assert status["connections"] == 19
