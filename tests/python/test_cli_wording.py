"""What the CLI and the dashboard print, as a first-time user reported it: enqueue --wait names
the run's real queue and suggests a worker only while the run is pending; purge says it takes
no id; plurals; `durable runs`; /runs?id=; a fork's copied steps and its copied-step count."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from durable import db
from durable.cli import main
from durable.ui import create_app


@pytest.fixture
def cli(dsn):
    """cli(*args) -> click Result, against the test database."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, ["--dsn", dsn, *args], catch_exceptions=False)

    return invoke


def _name() -> str:
    return f"wording_{uuid.uuid4().hex[:8]}"


def test_wait_names_the_registered_queue_while_pending(cli, conn, queue):
    name = _name()
    db.register(conn, f"reg-{uuid.uuid4().hex[:6]}", [{"name": name, "queue": queue}], None)
    result = cli("enqueue", name, "--input", "[1, 4]", "--wait", "0.2")
    assert result.exit_code == 1
    assert f"queue {queue}" in result.output and "queue default" not in result.output
    assert "Start one" in result.output


def test_wait_on_a_running_run_does_not_ask_for_a_worker(cli, conn, queue):
    name, wid = _name(), f"wording-{uuid.uuid4().hex[:8]}"
    db.enqueue(conn, name, [], queue=queue, workflow_id=wid)
    worker = f"busy-{uuid.uuid4().hex[:6]}"
    assert db.claim(conn, worker, [queue], 1, 30)
    result = cli("enqueue", name, "--id", wid, "--queue", queue, "--wait", "0.2")
    assert result.exit_code == 1
    assert "running" in result.output and worker in result.output
    assert "Start one" not in result.output and "queue default" not in result.output


def test_purge_without_filters_says_it_takes_no_id(cli):
    result = cli("purge")
    assert result.exit_code == 2
    assert "give a workflow id" not in result.output
    assert "--queue" in result.output


def test_purge_of_one_says_workflow(cli, conn, queue):
    wid = db.enqueue(conn, _name(), [], queue=queue)[0]
    lease = db.claim(conn, f"w-{uuid.uuid4().hex[:6]}", [queue], 1, 30)[0].lease
    db.complete(conn, wid, lease, 1)
    conn.execute("update durable.workflows set finished_at = now() - interval '2 days'"
                 " where id = %s", [wid])
    result = cli("purge", "--queue", queue, "--until", "1d", "--yes")
    assert result.exit_code == 0, result.output
    assert "1 workflow purged" in result.output


def test_schedule_commands_read_as_sentences(cli, conn):
    name = f"wording-{uuid.uuid4().hex[:8]}"
    conn.execute("select durable.set_schedule(%s, '* * * * *', 'nightly')", [name])
    result = cli("schedules", "pause", name)
    assert result.output.strip() == f"{name}: paused"
    assert cli("schedules", "resume", name).output.startswith(f"{name}: resumed")
    assert cli("schedules", "drop", name).output.strip() == f"{name}: dropped"
    assert cli("schedules", "drop", name).output.strip() == f"{name}: no such schedule"


def test_runs_is_list(cli, conn, queue):
    wid = db.enqueue(conn, _name(), [], queue=queue)[0]
    result = cli("runs", "--queue", queue)
    assert result.exit_code == 0, result.output
    assert wid in result.output


def _three_steps(conn, queue: str) -> str:
    wid = db.enqueue(conn, _name(), [], queue=queue)[0]
    lease = db.claim(conn, f"w-{uuid.uuid4().hex[:6]}", [queue], 1, 30)[0].lease
    for step in range(3):
        db.checkpoint(conn, wid, lease, step, f"s{step}", step)
    db.complete(conn, wid, lease, 3)
    # as if it ran a while ago: the copies keep their times, from before the fork's start
    conn.execute("update durable.steps set created_at = created_at - interval '12 minutes',"
                 " started_at = started_at - interval '12 minutes' where workflow_id = %s", [wid])
    return wid


def test_fork_says_how_many_steps_it_copied(cli, conn, queue):
    wid = _three_steps(conn, queue)
    result = cli("fork", wid, "9")
    assert result.exit_code == 0, result.output
    assert "3 steps copied" in result.output
    assert "1 step copied" in cli("fork", wid, "1").output


def test_show_marks_copied_steps(cli, conn, queue):
    wid = _three_steps(conn, queue)
    fork = db.fork(conn, wid, 2)
    shown = cli("show", fork).output
    assert "+-" not in shown
    assert shown.count("copied") >= 2


def test_dashboard_marks_copied_steps_and_counts_in_words(dsn, conn, queue):
    wid = _three_steps(conn, queue)
    fork = db.fork(conn, wid, 2)
    app = create_app(dsn)
    try:
        client = app.test_client()
        page = client.get(f"/run?id={fork}").text
        assert "+-" not in page and "copied" in page
        assert "claimed 1 times" not in client.get(f"/run?id={wid}").text
        assert "claimed once" in client.get(f"/run?id={wid}").text
        by_id = client.get(f"/runs?id={wid}")
        assert by_id.status_code == 302 and f"id={wid}" in by_id.headers["Location"]
    finally:
        app.extensions["durable_pool"].close()
