"""A worker's session keeps the plans of durable's functions for its lifetime. Those plans must
look rows up through the indexes even when they were made while the tables were (nearly) empty,
as on a new database: otherwise every call scans the whole table once it has grown (and with
autovacuum off nothing ever replans them). The functions pin their plans to indexes
(enable_seqscan = off); this test checks it with the scan counters of the transaction."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from conftest import ADMIN_DSN, ROOT
from durable import db, sqitch


@pytest.fixture
def empty_dsn() -> Iterator[str]:
    """A database of its own, freshly deployed, its tables empty and analyzed as empty."""
    name = f"durable_test_plans_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = make_conninfo(ADMIN_DSN, dbname=name)
    try:
        target, env = sqitch.target_and_env(dsn)
        done = subprocess.run(["sqitch", "deploy", target], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("select durable.set_queue('plans')")
            conn.execute("vacuum analyze durable.workflows, durable.steps")
        yield dsn
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


def _seq_scans(conn: psycopg.Connection) -> dict[str, int]:
    rows = conn.execute("select relname, seq_scan from pg_stat_xact_user_tables"
                        " where schemaname = 'durable' and relname in ('workflows', 'steps')")
    return dict(rows.fetchall())


def test_plans_made_on_empty_tables_still_use_the_indexes_once_they_have_grown(empty_dsn):
    admin = psycopg.connect(empty_dsn, autocommit=True)
    worker = psycopg.connect(empty_dsn, autocommit=True)  # one session, as a worker's slot
    try:
        # the worker's first calls, on tables of one row each: plans are made (and kept) now
        for i in range(8):
            admin.execute("select durable.enqueue('wf', 'null', 'plans')")
            (run,) = db.claim(worker, "w", ["plans"], 1)
            db.checkpoint(worker, run.workflow_id, run.lease, 0, "s", i)
            db.complete_and_claim(worker, run.workflow_id, run.lease, i, "w", ["plans"], 0,
                                  step=db.HeldStep(1, "t", "1", None))
        admin.execute("select count(*) from durable.enqueue_batch((select jsonb_agg("
                      "jsonb_build_object('name', 'wf', 'queue', 'plans'))"
                      " from generate_series(1, 5000)))")
        # the same calls on the grown tables, in one transaction to read its scan counters
        with worker.transaction():
            (run,) = db.claim(worker, "w", ["plans"], 1)
            db.checkpoint(worker, run.workflow_id, run.lease, 0, "s", 0)
            db.heartbeat(worker, "w")
            status, nxt = db.complete_and_claim(worker, run.workflow_id, run.lease, 0, "w",
                                                ["plans"], 1, step=db.HeldStep(1, "t", "1", None))
            db.complete(worker, nxt[0].workflow_id, nxt[0].lease, 0)
            db.result(worker, run.workflow_id)
            assert status == "succeeded" and len(nxt) == 1
            assert _seq_scans(worker) == {"workflows": 0, "steps": 0}
    finally:
        worker.close()
        admin.close()
