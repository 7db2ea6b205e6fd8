"""The `durable` command, through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import make_conninfo

from conftest import ADMIN_DSN, ROOT
from durable import db
from durable.cli import main


@pytest.fixture
def cli(dsn):
    """cli(*args) -> click Result, against the test database."""
    runner = CliRunner()

    def invoke(*args: str, env: dict | None = None):
        return runner.invoke(main, ["--dsn", dsn, *args], env=env, catch_exceptions=False)

    return invoke


def _story(conn, queue: str) -> str:
    """A finished run with a step, a failed try of a step and that step's success."""
    wid = db.enqueue(conn, "orders", ["o-1"], queue=queue)[0]
    lease = db.claim(conn, f"w-{uuid.uuid4().hex[:6]}", [queue], 1, 30)[0].lease
    db.checkpoint(conn, wid, lease, 0, "reserve", {"ok": True})
    failure = db.step_failed(conn, wid, lease, 1, "charge",
                             {"type": "TimeoutError", "message": "payment service timed out"},
                             max_attempts=2, backoff_base=0.01, backoff_max=0.01)
    assert failure.retry and failure.tries == 1
    db.checkpoint(conn, wid, lease, 1, "charge", {"charge": "ch_1"})
    db.complete(conn, wid, lease, {"done": True})
    return wid


def test_enqueue_prints_the_id_and_json(cli, conn, queue):
    """enqueue NAME --input JSON starts a run; --json prints it for scripts."""
    plain = cli("enqueue", "script", "--input", '[{"steps": []}]', "--queue", queue)
    assert plain.exit_code == 0
    wid = plain.output.strip()
    assert db.result(conn, wid).status == "pending"
    again = cli("enqueue", "script", "--queue", queue, "--id", wid, "--json")
    assert json.loads(again.output) == {"workflow_id": wid, "created": False}
    bad = cli("enqueue", "script", "--input", "{nope")
    assert bad.exit_code == 2 and "not JSON" in bad.output


def test_list_filters_by_status_queue_name_and_since(cli, conn, queue):
    """list shows a table, or JSON with --json, filtered by status, queue, name and since."""
    pending = db.enqueue(conn, "script", [], queue=queue)[0]
    cancelled = db.enqueue(conn, "other", [], queue=queue)[0]
    db.cancel(conn, cancelled)

    table = cli("list", "--queue", queue)
    assert table.exit_code == 0
    assert table.output.splitlines()[0].split()[:4] == ["ID", "NAME", "QUEUE", "STATUS"]
    assert pending in table.output and cancelled in table.output

    def ids(*args: str) -> set[str]:
        result = cli("list", "--queue", queue, "--json", *args)
        assert result.exit_code == 0, result.output
        return {row["id"] for row in json.loads(result.output)}

    assert ids() == {pending, cancelled}
    assert ids("--status", "cancelled") == {cancelled}
    assert ids("--name", "script") == {pending}
    assert ids("--since", "1h") == {pending, cancelled}
    assert ids("--since", "2999-01-01T00:00:00+00:00") == set()
    assert cli("list", "--since", "yesterday").exit_code == 2


def test_show_prints_the_timeline_with_durations_and_errors(cli, conn, queue):
    """show ID: the run, then its steps and failed tries in order, with offsets and errors."""
    wid = _story(conn, queue)
    shown = cli("show", wid)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert f"id:           {wid}" in lines and "status:       succeeded" in lines
    timeline = lines[lines.index("") + 1:]
    assert timeline[0].split()[:3] == ["AT", "OFFSET", "KIND"]
    start, end = timeline[0].index("KIND"), timeline[0].index("STEP_ID")  # fixed-width columns
    kinds = [line[start:end].strip() for line in timeline[1:]]
    assert [k for k in kinds if k] == ["step", "STEP TRY FAILED", "step"]
    assert "TimeoutError: payment service timed out" in shown.output

    data = json.loads(cli("show", wid, "--json").output)
    assert data["run"]["status"] == "succeeded"
    assert [(e["kind"], e["name"]) for e in data["timeline"]] == [
        ("step", "reserve"), ("step try failed", "charge"), ("step", "charge")]
    assert all(e["offset"] >= 0 for e in data["timeline"])

    missing = cli("show", "no-such-run")
    assert missing.exit_code == 1 and "DU003: unknown workflow no-such-run" in missing.output


def test_errors_lists_failed_steps_of_the_last_month(cli, conn, queue):
    """errors: the failed step tries from durable.run_errors."""
    wid = _story(conn, queue)
    rows = json.loads(cli("errors", "--since", "30d", "--json").output)
    assert {(r["workflow_id"], r["step_name"]) for r in rows} >= {(wid, "charge")}
    assert "TimeoutError: payment service timed out" in cli("errors").output


def test_cancel_and_retry(cli, conn, queue):
    """cancel then retry a run; refusals exit 1 with the SQLSTATE and the server's message."""
    wid = db.enqueue(conn, "script", [], queue=queue)[0]
    assert cli("cancel", wid).output.strip() == f"{wid}: cancelled"
    assert json.loads(cli("retry", wid, "--json").output) == {"workflow_id": wid,
                                                              "status": "pending"}
    refused = cli("retry", wid)
    assert refused.exit_code == 1
    assert "DU014" in refused.output and "only failed or cancelled" in refused.output


def test_queues_and_workers(cli, conn, queue):
    """queues and workers read durable.queue_stats and durable.worker_status."""
    db.enqueue(conn, "script", [], queue=queue)
    db.heartbeat(conn, "cli-test-worker", timedelta(seconds=30))
    stats = {r["queue"]: r for r in json.loads(cli("queues", "--json").output)}
    assert stats[queue]["pending"] == 1
    workers = {r["id"]: r for r in json.loads(cli("workers", "--json").output)}
    assert workers["cli-test-worker"]["alive"] is True
    assert "cli-test-worker" in cli("workers").output
    db.release(conn, "cli-test-worker")


def test_worker_refuses_what_is_not_an_app(cli):
    """worker MODULE:APP says clearly when APP is not a Durable app."""
    result = cli("worker", "json:loads")
    assert result.exit_code == 2 and "is not a durable.Durable app" in result.output
    result = cli("worker", "no_such_module_here")
    assert result.exit_code == 2 and "cannot import no_such_module_here" in result.output


def test_db_commands_say_clearly_when_sqitch_is_missing(cli):
    """Without sqitch on PATH, db commands exit 1 with how to install it."""
    result = cli("db", "status", env={"PATH": "/nonexistent"})
    assert result.exit_code == 1
    assert "sqitch is not installed" in result.output and "apt-get install sqitch" in result.output


def _durable(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "durable", *args], cwd=cwd, capture_output=True,
                          text=True, env=dict(os.environ), timeout=120, check=False)


def test_db_deploy_status_verify_revert(tmp_path):
    """db deploy, status, verify and revert run Sqitch against --dsn, finding the project from
    any folder of the repository (here: tests/python)."""
    name = f"durable_test_py_cli_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    target = make_conninfo(ADMIN_DSN, dbname=name)
    here = ROOT / "tests" / "python"
    try:
        deployed = _durable("--dsn", target, "db", "deploy", cwd=here)
        assert deployed.returncode == 0, deployed.stderr
        assert "+ privileges" in deployed.stdout
        status = _durable("--dsn", target, "db", "status", cwd=here)
        assert status.returncode == 0 and "Nothing to deploy (up-to-date)" in status.stdout
        verified = _durable("--dsn", target, "db", "verify", cwd=here)
        assert verified.returncode == 0 and "Verify successful" in verified.stdout
        reverted = _durable("--dsn", target, "db", "revert", "--yes", cwd=here)
        assert reverted.returncode == 0, reverted.stderr
        with psycopg.connect(target) as conn:
            assert conn.execute("select to_regnamespace('durable')").fetchone()[0] is None
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


def test_db_commands_take_the_role_prefix():
    """`durable db deploy/verify/revert --role-prefix P` (or $DURABLE_ROLE_PREFIX) pass
    role_prefix to Sqitch: the schema belongs to P_admin and verify passes. Regression (a new
    user): the db commands had no way to name the prefix, and verify of a prefixed database
    failed with a bare "division by zero"."""
    from deploytools import Scratch, unique
    scratch = Scratch()
    try:
        dsn = scratch.database("cli_prefix")
        prefix = unique("dtcli")
        scratch.adopt_roles(*(f"{prefix}_{r}" for r in
                              ("payload_reader", "observer", "client", "worker", "admin")))
        deployed = _durable("--dsn", dsn, "db", "deploy", "--role-prefix", prefix)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        with psycopg.connect(dsn) as c:
            assert c.execute("select nspowner::regrole::text from pg_namespace"
                             " where nspname = 'durable'").fetchone() == (f"{prefix}_admin",)
        verified = subprocess.run([sys.executable, "-m", "durable", "--dsn", dsn, "db", "verify"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=120,
                                  env=dict(os.environ, DURABLE_ROLE_PREFIX=prefix), check=False)
        assert verified.returncode == 0 and "Verify successful" in verified.stdout, verified.stderr
    finally:
        scratch.drop_all()
