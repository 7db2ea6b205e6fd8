"""The CLI's bulk commands (durable cancel|retry|purge with filters: a count, a confirmation, a
progress bar, batches) and `durable queue create|pause|resume|limit`, against a fresh
database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from psycopg.rows import dict_row

from durable import bulk, db
from durable.cli import main


@pytest.fixture
def cli(dsn):
    """cli(*args, input=None) -> click Result, against the test database."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, ["--dsn", dsn, *args], input=input, catch_exceptions=False)

    return invoke


def _statuses(conn, queue: str) -> dict[str, str]:
    return dict(conn.execute("select id, status from durable.runs where queue = %s",
                             [queue]).fetchall())


def test_cancel_by_queue_and_name_in_batches_with_a_count(cli, conn, queue):
    """cancel --queue --name --batch 2 cancels the 5 matching runs in 3 batches, says how
    many, and leaves the run of another name pending."""
    ids = [db.enqueue(conn, "a", [], queue=queue)[0] for _ in range(5)]
    other = db.enqueue(conn, "b", [], queue=queue)[0]
    result = cli("cancel", "--queue", queue, "--name", "a", "--batch", "2", "--yes")
    assert result.exit_code == 0, result.output
    assert "5 workflows cancelled" in result.output
    statuses = _statuses(conn, queue)
    assert {statuses[i] for i in ids} == {"cancelled"}
    assert statuses[other] == "pending"


def test_cancel_asks_first_and_stops_on_no(cli, conn, queue):
    """Without --yes the command asks, naming the count; answering no changes nothing."""
    wid = db.enqueue(conn, "a", [], queue=queue)[0]
    result = cli("cancel", "--queue", queue, input="n\n")
    assert result.exit_code == 1
    assert "cancel 1 workflow?" in result.output
    assert _statuses(conn, queue)[wid] == "pending"
    result = cli("cancel", "--queue", queue, "--json", input="y\n")
    assert json.loads(result.stdout) == {"cancelled": 1, "matched": 1}  # the bar: stderr


def test_retry_by_status_and_purge_by_status(cli, conn, queue):
    """retry --status cancelled makes cancelled runs pending again; purge --status cancelled
    deletes the cancelled ones only (the pending stay)."""
    ids = [db.enqueue(conn, "a", [], queue=queue)[0] for _ in range(3)]
    assert cli("cancel", "--queue", queue, "--yes").exit_code == 0
    assert "0 workflows retried" in cli("retry", "--queue", queue, "--yes").output  # failed only
    result = cli("retry", "--queue", queue, "--status", "cancelled", "--yes", "--json")
    assert json.loads(result.stdout) == {"retried": 3, "matched": 3}
    assert set(_statuses(conn, queue).values()) == {"pending"}
    db.cancel(conn, ids[0])
    result = cli("purge", "--queue", queue, "--status", "cancelled", "--yes")
    assert "1 workflow purged" in result.output
    assert set(_statuses(conn, queue)) == set(ids[1:])


def test_purge_until_keeps_recent_runs(cli, conn, queue):
    """purge --until 1h deletes nothing that finished within the hour."""
    wid = db.enqueue(conn, "a", [], queue=queue)[0]
    db.cancel(conn, wid)
    result = cli("purge", "--queue", queue, "--until", "1h", "--yes")
    assert "0 workflows purged" in result.output
    assert wid in _statuses(conn, queue)


def test_bulk_needs_an_id_or_filters_and_reports_sql_refusals(cli, conn, queue):
    """No id and no filter is a usage error; an id and filters too; an unknown queue is the
    SQL's DU004."""
    assert cli("cancel").exit_code == 2
    assert cli("purge").exit_code == 2
    assert cli("cancel", "some-id", "--queue", queue).exit_code == 2
    refused = cli("cancel", "--queue", "no-such-queue-here", "--yes")
    assert refused.exit_code == 1 and "DU004" in refused.output
    assert cli("cancel", "--since", "not-a-time").exit_code == 2


def test_cancel_and_retry_by_id_still_work(cli, conn, queue):
    """With a workflow id, cancel and retry act on that workflow as before."""
    wid = db.enqueue(conn, "a", [], queue=queue)[0]
    assert cli("cancel", wid).output.strip() == f"{wid}: cancelled"
    assert cli("retry", wid).output.strip() == f"{wid}: pending"


def test_queue_create_pause_resume_limit(cli, conn, queue):
    """durable queue create/pause/resume/limit change durable.queue_stats."""
    name = queue + "-cli"

    def stats() -> dict:
        with conn.cursor(row_factory=dict_row) as cur:
            return cur.execute("select * from durable.queue_stats where queue = %s",
                               [name]).fetchone()

    assert cli("queue", "create", name, "--concurrency", "3", "--paused").exit_code == 0
    assert (stats()["concurrency"], stats()["paused"]) == (3, True)
    assert cli("queue", "resume", name).exit_code == 0
    assert stats()["paused"] is False
    assert cli("queue", "pause", name).exit_code == 0
    assert stats()["paused"] is True
    result = cli("queue", "limit", name, "--rate-limit", "10", "--rate-period", "1",
                 "--key-concurrency", "2", "--concurrency", "0")
    assert result.exit_code == 0, result.output
    row = stats()
    assert (row["concurrency"], row["rate_limit"], row["key_concurrency"]) == (None, 10, 2)
    assert cli("queue", "limit", name).exit_code == 2
    refused = cli("queue", "create", name + "-2", "--rate-limit", "5")  # no period
    assert refused.exit_code == 1 and "DU010" in refused.output


def test_bulk_module_counts_and_batches(conn, queue):
    """durable.bulk: count is a dry run; batches yields each batch's count until no more."""
    for _ in range(3):
        db.enqueue(conn, "a", [], queue=queue)
    assert bulk.count(conn, "cancel", queue=queue) == 3
    assert list(bulk.batches(conn, "cancel", 2, queue=queue)) == [2, 1]
    assert bulk.count(conn, "cancel", queue=queue) == 0
    assert bulk.housekeep(conn, "test-housekeeper") == (0, False)  # no retention set
