"""A client idle in a transaction that holds a workflow's row lock does not stall the worker.

`begin; select durable.cancel(id);` left open used to block the worker's next call on that
workflow, and its release on stop, forever: the process could not even shut down. The worker
functions now give up after their lock_timeout (2 s, 55P03, deploy/lock_timeouts.sql) and the
client retries a bounded number of times (durable.db.LOCK_RETRIES), then drops the run.
"""

from __future__ import annotations

import signal
import uuid

import psycopg
from psycopg.types.json import Jsonb

from conftest import events, status_of, wait_for


def _enqueue_script(conn: psycopg.Connection, queue: str, steps: list[dict]) -> str:
    workflow_id = f"lt-{uuid.uuid4().hex[:10]}"
    conn.execute("select * from durable.enqueue('script', %s, p_queue => %s, p_workflow_id => %s)",
                 [Jsonb({"steps": steps}), queue, workflow_id])
    return workflow_id


def test_idle_in_transaction_client_does_not_stall_the_worker(dsn, conn, queue, start_worker):
    worker = start_worker(queue, concurrency=2, lease=10.0, grace=1.0)
    held = _enqueue_script(conn, queue, [{"kind": "plain", "sleep": 1.5}])
    wait_for(lambda: any(e["phase"] == "start" for e in events(conn, held)),
             what="the step to start")

    with psycopg.connect(dsn) as client:  # not autocommit: the transaction stays open
        assert client.execute("select durable.cancel(%s)", [held]).fetchone()[0] == "cancelled"
        wait_for(lambda: any(e["phase"] == "end" for e in events(conn, held)),
                 what="the step to return while the row is locked")
        # the slot that ran it cannot record its outcome; the other slot and the claims go on
        other = _enqueue_script(conn, queue, [{"kind": "plain"}])
        wait_for(lambda: status_of(conn, other) == "succeeded", timeout=20,
                 what="another workflow to finish while the row is locked")
        # and the worker can stop: its calls on the locked row give up instead of waiting
        worker.signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, worker.log()
        assert status_of(conn, held) == "running"  # (this session cannot see A's cancel yet)
        client.commit()

    assert status_of(conn, held) == "cancelled"
    assert [e["phase"] for e in events(conn, held)] == ["start", "end"]
