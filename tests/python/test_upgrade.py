"""Upgrading a database with work in it: `sqitch deploy` of the current plan over @v0.1.0.

Each test makes a database of its own, deploys the plan up to the tag @v0.1.0 and fills it
through the v0.1.0 SQL API (durable.enqueue, enqueue_batch, claim, checkpoint, heartbeat,
complete, fail: called directly, as any driver would, because the current Python client
refuses a schema that is not 0.2.x). Then it deploys the rest of the plan over it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

import durable_testapp
from conftest import WorkerProcess, events, wait_for
from deploytools import Scratch, sqitch_ok

QUEUE = "upgrade"
FINISHED = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    """The module's databases, dropped at its end."""
    made = Scratch()
    yield made
    made.drop_all()


@pytest.fixture(scope="module")
def v010_template(scratch: Scratch) -> str:
    """A database deployed with `sqitch deploy --to @v0.1.0` (Sqitch's registry included), with
    the tests' app tables: deployed once, copied by each test."""
    dsn = scratch.database("upgrade_template")
    sqitch_ok("deploy", dsn, "--no-verify", "--to", "@v0.1.0")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("select to_regproc('durable.version')").fetchone()[0] is None
        conn.execute(durable_testapp.SCHEMA)
    return dsn


@pytest.fixture
def v010(scratch: Scratch, v010_template: str) -> str:
    """A fresh database of the test's own at @v0.1.0 (a copy of v010_template)."""
    return scratch.database("upgrade", template=v010_template)


def _plan(*kinds: str) -> dict:
    return {"steps": [{"kind": k} for k in kinds]}


def _enqueue(conn: psycopg.Connection, wid: str, **args) -> str:
    named = ", ".join(f"{k} => %({k})s" for k in args)
    created = conn.execute(
        f"select workflow_id, created from durable.enqueue('script', %(input)s,"
        f" p_queue => %(queue)s, p_workflow_id => %(wid)s{', ' if named else ''}{named})",
        {"input": Jsonb(_plan("plain", "plain")), "queue": QUEUE, "wid": wid, **args}).fetchone()
    assert created == (wid, True)
    return wid


def _claim(conn: psycopg.Connection, worker: str, wid: str, lease_timeout: str = "30 seconds"
           ) -> int:
    """Claim one workflow with the v0.1.0 durable.claim, checking it is wid; its lease."""
    row = conn.execute("select workflow_id, lease, attempt from durable.claim(%s, array[%s], 1,"
                       " %s::interval)", [worker, QUEUE, lease_timeout]).fetchone()
    assert row is not None and row[0] == wid, row
    return row[1]


def _step(conn: psycopg.Connection, wid: str, lease: int, step: int) -> dict:
    """What a killed v0.1.0-era worker did for step `step`: its events rows (pid 0, as the
    tests' app writes them) and its checkpoint with durable.checkpoint."""
    output = {"pid": 0, "step": step, "v010": True}
    for phase in ("start", "end"):
        conn.execute("insert into testapp.events (workflow_id, step, phase, pid)"
                     " values (%s, %s, %s, 0)", [wid, step, phase])
    recorded = conn.execute("select recorded from durable.checkpoint(%s, %s, %s, 'plain', %s)",
                            [wid, lease, step, Jsonb(output)]).fetchone()
    assert recorded == (True,)
    return output


def _seed(conn: psycopg.Connection) -> dict[str, str]:
    """Workflows in every state, made through the v0.1.0 API; their ids by role in the test."""
    conn.execute("select durable.set_queue(%s)", [QUEUE])
    ids = {}
    # succeeded: both steps recorded, completed
    ids["succeeded"] = _enqueue(conn, "up-succeeded")
    lease = _claim(conn, "v010-finisher", ids["succeeded"])
    outputs = [_step(conn, ids["succeeded"], lease, i) for i in (0, 1)]
    assert conn.execute("select durable.complete(%s, %s, %s)",
                        [ids["succeeded"], lease, Jsonb(outputs)]).fetchone() == ("succeeded",)
    # failed: one step recorded, then the attempt failed for good (max_attempts 1)
    ids["failed"] = _enqueue(conn, "up-failed", p_max_attempts=1)
    lease = _claim(conn, "v010-finisher", ids["failed"])
    _step(conn, ids["failed"], lease, 0)
    assert conn.execute("select status from durable.fail(%s, %s, %s)",
                        [ids["failed"], lease, Jsonb({"message": "v0.1.0 failure"})]
                        ).fetchone() == ("failed",)
    # retrying: attempt 1 recorded step 0 and failed; attempt 2 is pending (backoff 10 ms)
    ids["retrying"] = _enqueue(conn, "up-retrying", p_max_attempts=2,
                               p_backoff_base="10 milliseconds", p_backoff_max="10 milliseconds")
    lease = _claim(conn, "v010-finisher", ids["retrying"])
    _step(conn, ids["retrying"], lease, 0)
    assert conn.execute("select status from durable.fail(%s, %s, %s)",
                        [ids["retrying"], lease, Jsonb({"message": "try again"})]
                        ).fetchone() == ("pending",)
    assert conn.execute("select durable.release('v010-finisher')").fetchone() == (0,)
    # running: claimed (priority 10: before the retry) with a 1 s lease, step 0 recorded, one
    # heartbeat, then its worker dies mid step 1 and never heartbeats again
    ids["running"] = _enqueue(conn, "up-running", p_priority=10)
    lease = _claim(conn, "v010-killed", ids["running"], "1 second")
    _step(conn, ids["running"], lease, 0)
    conn.execute("insert into testapp.events (workflow_id, step, phase, pid) values (%s, 1,"
                 " 'start', 0)", [ids["running"]])
    held = conn.execute("select workflow_id, lease from durable.heartbeat('v010-killed',"
                        " '1 second')").fetchall()
    assert held == [(ids["running"], lease)]
    # pending: never claimed, one by enqueue and two by enqueue_batch
    ids["pending"] = _enqueue(conn, "up-pending")
    batch = conn.execute("select workflow_id, created from durable.enqueue_batch(%s)", [Jsonb([
        {"name": "script", "input": _plan("plain"), "queue": QUEUE, "workflow_id": wid}
        for wid in ("up-batch-1", "up-batch-2")])]).fetchall()
    assert batch == [("up-batch-1", True), ("up-batch-2", True)]
    ids["batch-1"], ids["batch-2"] = "up-batch-1", "up-batch-2"
    return ids


# the columns of durable.workflows in v0.1.0: later changes add columns (with a default or
# null), which a snapshot taken under one version and compared under another leaves out
V010_WORKFLOW_COLUMNS = (
    "id", "name", "queue", "status", "priority", "run_at", "attempt", "max_attempts",
    "backoff_base", "backoff_max", "owner", "lease", "claims", "input", "output", "error",
    "created_at", "claimed_at", "finished_at")


def _snapshot(conn: psycopg.Connection, wid: str) -> tuple:
    """Everything stored about a workflow: its row (its v0.1.0 columns), its steps and its
    errors, as jsonb."""
    row, steps, errors = _stored(conn, wid)
    return ({c: row[c] for c in V010_WORKFLOW_COLUMNS} if row else row), steps, errors


def _stored(conn: psycopg.Connection, wid: str) -> tuple:
    return conn.execute(
        "select (select to_jsonb(w) from durable.workflows w where w.id = %(id)s),"
        " (select jsonb_agg(to_jsonb(s) order by s.step_id) from durable.steps s"
        "   where s.workflow_id = %(id)s),"
        " (select jsonb_agg(to_jsonb(e) order by e.id) from durable.errors e"
        "   where e.workflow_id = %(id)s)", {"id": wid}).fetchone()


def _starts(conn: psycopg.Connection, wid: str) -> list[tuple[int, int]]:
    return [(e["step"], e["pid"]) for e in events(conn, wid) if e["phase"] == "start"]


def _all_finished(conn: psycopg.Connection, ids: list[str]) -> bool:
    statuses = conn.execute("select status from durable.runs where id = any(%s)", [ids]).fetchall()
    return len(statuses) == len(ids) and all(s in FINISHED for (s,) in statuses)


def test_deploy_over_v010_finishes_its_work_with_the_new_code(v010: str, tmp_path: Path):
    """v0.1.0 data, upgraded with `sqitch deploy`, then a real worker process of the current
    client (which would refuse to run against 0.1.0) on it:

    - the pending runs (enqueue, enqueue_batch) run once each and succeed;
    - the run whose worker died mid-step resumes from its checkpoint: step 0 is replayed (its
      v0.1.0 output is in the result, its code never runs again), step 1 runs once more;
    - the run waiting for its retry replays its recorded step in attempt 2;
    - the succeeded and failed runs are untouched (row, steps and errors byte for byte);
    - `sqitch verify` passes and durable.version() is the new version.

    The killed worker is simulated in SQL (claim with a 1 s lease, checkpoint, one heartbeat,
    then silence): the current client's worker cannot run against a 0.1.0 schema, so no real
    process can be killed there; what the upgrade inherits is the same rows.
    """
    with psycopg.connect(v010, autocommit=True) as conn:
        ids = _seed(conn)
        before = {k: _snapshot(conn, ids[k]) for k in ("succeeded", "failed")}
        running_step0 = _snapshot(conn, ids["running"])[1][0]
        wait_for(lambda: conn.execute("select expires_at < now() from durable.workers"
                                      " where id = 'v010-killed'").fetchone()[0],
                 timeout=5, what="the killed worker's lease to expire")

        out = sqitch_ok("deploy", v010)
        assert "+ version" in out
        assert conn.execute("select durable.version()").fetchone() == ("0.2.0",)
        assert conn.execute("select status, owner from durable.runs where id = %s",
                            [ids["running"]]).fetchone() == ("running", "v010-killed")
        assert conn.execute("select alive from durable.worker_status where id = 'v010-killed'"
                            ).fetchone() == (False,)

        worker = WorkerProcess(v010, QUEUE, tmp_path / "worker.log").wait_ready(conn)
        try:
            todo = [ids[k] for k in ("running", "retrying", "pending", "batch-1", "batch-2")]
            wait_for(lambda: _all_finished(conn, todo), timeout=20,
                     what="the upgraded database's work to finish")
        finally:
            worker.kill()

        runs = {wid: (status, output, attempt, claims) for wid, status, output, attempt, claims
                in conn.execute("select id, status, output, attempt, claims from durable.runs"
                                " where id = any(%s)", [list(ids.values())]).fetchall()}
        mine = {"pid": worker.pid, "step": 1}
        # the killed run: step 0 replayed from its v0.1.0 checkpoint, step 1 run again, once
        assert runs[ids["running"]] == (
            "succeeded", [{"pid": 0, "step": 0, "v010": True}, mine], 1, 2)
        assert _starts(conn, ids["running"]) == [(0, 0), (1, 0), (1, worker.pid)]
        assert _snapshot(conn, ids["running"])[1][0] == running_step0
        # the retry: attempt 2 replays step 0 of attempt 1
        assert runs[ids["retrying"]] == (
            "succeeded", [{"pid": 0, "step": 0, "v010": True}, mine], 2, 2)
        assert _starts(conn, ids["retrying"]) == [(0, 0), (1, worker.pid)]
        # never claimed before: every step once, by the new worker
        assert runs[ids["pending"]] == (
            "succeeded", [{"pid": worker.pid, "step": 0}, mine], 1, 1)
        assert _starts(conn, ids["pending"]) == [(0, worker.pid), (1, worker.pid)]
        for k in ("batch-1", "batch-2"):
            assert runs[ids[k]] == ("succeeded", [{"pid": worker.pid, "step": 0}], 1, 1)
        # finished under v0.1.0: untouched
        assert {k: _snapshot(conn, ids[k]) for k in before} == before
        assert runs[ids["failed"]][0] == "failed"
        assert conn.execute("select count(*) from durable.runs_meta where queue = %s",
                            [QUEUE]).fetchone() == (len(ids),)

    sqitch_ok("verify", v010)
    assert "Nothing to deploy (up-to-date)" in sqitch_ok("status", v010)


def test_revert_to_v010_and_deploy_again_keeps_the_data(v010: str):
    """`sqitch deploy`, `sqitch revert --to @v0.1.0`, `sqitch deploy` with data in every state:
    each step succeeds and verifies, nothing stored changes, the reverted schema is v0.1.0 again
    (no durable.version(), its API still runs a workflow), and after the second deploy the new
    code runs the work that was left."""
    with psycopg.connect(v010, autocommit=True) as conn:
        ids = _seed(conn)
        before = {k: _snapshot(conn, wid) for k, wid in ids.items()}

        sqitch_ok("deploy", v010, "--no-verify")  # (the test above verifies this deploy)
        assert conn.execute("select durable.version()").fetchone() == ("0.2.0",)
        reverted = sqitch_ok("revert", v010, "-y", "--to", "@v0.1.0")
        assert "- version" in reverted
        assert conn.execute("select to_regproc('durable.version')").fetchone() == (None,)
        assert conn.execute("select to_regclass('durable.runs_meta')").fetchone() == (None,)
        sqitch_ok("verify", v010)  # (deploy verifies each change itself: sqitch.conf)
        assert {k: _snapshot(conn, wid) for k, wid in ids.items()} == before

        # the v0.1.0 functions are back and work on the data: a claim takes every runnable
        # run (the dead worker's first, with its recorded step), one is run to the end by hand
        # and the others are handed back
        claimed = {wid: steps for wid, steps in conn.execute(
            "select workflow_id, steps from durable.claim('v010-again', array[%s], 10)",
            [QUEUE]).fetchall()}
        assert set(claimed) == {ids[k] for k in
                                ("running", "retrying", "pending", "batch-1", "batch-2")}
        assert [s["step_id"] for s in claimed[ids["running"]]] == [0]
        lease = conn.execute("select lease from durable.workflows where id = 'up-batch-1'"
                             ).fetchone()[0]
        _step(conn, "up-batch-1", lease, 0)
        assert conn.execute("select durable.complete(%s, %s, '\"done in v0.1.0\"')",
                            ["up-batch-1", lease]).fetchone() == ("succeeded",)
        assert conn.execute("select durable.release('v010-again')").fetchone() == (4,)
        before = {k: _snapshot(conn, wid) for k, wid in ids.items()}

        sqitch_ok("deploy", v010)
        assert conn.execute("select durable.version()").fetchone() == ("0.2.0",)
        assert {k: _snapshot(conn, wid) for k, wid in ids.items()} == before

        # the new code runs the rest by hand: one claim, the missing steps, complete
        left = conn.execute("select workflow_id, lease, input, steps from durable.claim('v020',"
                            " array[%s], 10)", [QUEUE]).fetchall()
        assert {wid for wid, *_ in left} == {ids[k] for k in
                                             ("running", "retrying", "pending", "batch-2")}
        for wid, lease, plan, steps in left:
            for step in range(len(steps), len(plan["steps"])):
                assert conn.execute("select recorded from durable.checkpoint(%s, %s, %s, 'plain')",
                                    [wid, lease, step]).fetchone() == (True,)
            assert conn.execute("select durable.complete(%s, %s)", [wid, lease]
                                ).fetchone() == ("succeeded",)
        assert conn.execute("select count(*) from durable.runs where queue = %s and status ="
                            " 'succeeded'", [QUEUE]).fetchone() == (len(ids) - 1,)
