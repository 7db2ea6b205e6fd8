"""Issue 9, items 13 and 14: the CLI's errors are one line that says what to do, and
`durable --dsn X worker` runs the app against X.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import make_conninfo

from conftest import ADMIN_DSN, wait_for
from durable.cli import main


def _invoke(dsn: str, *args: str):
    return CliRunner().invoke(main, ["--dsn", dsn, *args], catch_exceptions=False)


def test_enqueue_wait_without_a_worker_says_so_in_one_line(dsn, queue):
    """--wait that runs out: exit status 1 and one line naming the run, its status and what to
    do, instead of a TimeoutError traceback."""
    result = _invoke(dsn, "enqueue", "script", "--input", '[{"steps": []}]', "--queue", queue,
                     "--wait", "0.3")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert "Traceback" not in result.output
    assert lines[-1].startswith("Error: ") and "still pending after 0.3" in lines[-1]
    assert "durable worker" in lines[-1]


@pytest.fixture
def empty_dsn() -> Iterator[str]:
    """A database of our own without the durable schema, dropped after."""
    name = f"durable_test_field_empty_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(ADMIN_DSN, dbname=name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


@pytest.mark.parametrize("args", [
    ["list"], ["show", "x"], ["queues"], ["workers"], ["errors"], ["cancel", "x"],
    ["enqueue", "x"],
])
def test_commands_against_a_database_without_the_schema_say_to_deploy_it(empty_dsn, args):
    result = _invoke(empty_dsn, *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "durable db deploy" in result.output


APP = '''
import durable

app = durable.Durable()  # no DSN of its own: the worker's is used


@app.step()
def start_child() -> str:
    parent_id = durable.step_info().workflow_id
    return app.enqueue("child", workflow_id=f"{parent_id}-child").workflow_id


@app.workflow(name="parent", max_attempts=1)
def parent() -> str:
    return start_child()


@app.workflow(name="child")
def child() -> str:
    return "child ran"
'''


def test_the_worker_dsn_is_the_app_dsn_when_the_app_has_none(dsn, conn, queue, tmp_path: Path):
    """`durable --dsn X worker mod:app`: app.enqueue inside a step goes to X too, even when the
    environment names another database."""
    (tmp_path / "field_dsn_app.py").write_text(textwrap.dedent(APP))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(PGHOST="127.0.0.1", PGPORT="5432", PGUSER="root",
               PGDATABASE=f"durable_no_such_db_{uuid.uuid4().hex[:8]}", PYTHONUNBUFFERED="1")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "--dsn", dsn, "worker", "field_dsn_app:app",
             "--path", str(tmp_path), "--queues", queue, "--poll-interval", "0.2"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        wid = f"parent-{uuid.uuid4().hex[:8]}"
        conn.execute("select * from durable.enqueue('parent', p_queue => %s,"
                     " p_workflow_id => %s)", [queue, wid])
        done = wait_for(lambda: conn.execute(
            "select status, output, error from durable.runs where id = %s and status in"
            " ('succeeded', 'failed')", [wid]).fetchone(), what="the parent to finish")
        assert done[:2] == ("succeeded", f"{wid}-child"), (done, log.read_text())
        assert conn.execute("select name from durable.runs where id = %s",
                            [f"{wid}-child"]).fetchone() == ("child",)
    finally:
        proc.terminate()
        proc.wait(20)
