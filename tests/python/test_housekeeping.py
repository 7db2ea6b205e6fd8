"""Retention run by the workers (issue 11, item 6): a worker calls durable.housekeep after each
heartbeat, which purges, in bounded batches, the finished workflows older than
durable.settings.retain_succeeded / retain_failed; with the settings null (the default) it
keeps everything."""

from __future__ import annotations

import psycopg

from conftest import wait_for


def _count(conn: psycopg.Connection, queue: str) -> int:
    return conn.execute("select count(*) from durable.runs where queue = %s", [queue]).fetchone()[0]


def test_a_worker_purges_what_retention_lets_go(app, conn, queue, start_worker):
    """Three workflows succeed; with retain_succeeded null nothing is purged by the heartbeats;
    set to 1 second, the worker's housekeeping purges them (and only finished ones: a pending
    workflow of a queue no worker serves stays)."""
    handles = [app.enqueue("script", {"steps": []}, queue=queue) for _ in range(3)]
    conn.execute("select durable.set_queue('hk-unserved')")
    waiting = app.enqueue("script", {"steps": []}, queue="hk-unserved")
    try:
        start_worker(queue)
        for handle in handles:
            handle.result(timeout=30)
        # a few heartbeats (lease 2 s: one about every 0.7 s) with retention off
        conn.execute("select pg_sleep(2)")
        assert _count(conn, queue) == 3
        conn.execute("update durable.settings set retain_succeeded = interval '1 second'")
        wait_for(lambda: _count(conn, queue) == 0, timeout=30,
                 what="the worker's housekeeping to purge the finished workflows")
        assert app.handle(waiting.workflow_id).status() == "pending"
    finally:
        conn.execute("update durable.settings set retain_succeeded = default")
