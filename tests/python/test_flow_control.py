"""Flow control (issue 11, items 2-5) through the Python client and the CLI, with real worker
processes: rate limits, per-key concurrency, deduplication and id reuse, fork. The rules are
checked on what the database recorded (start times in windows, step events per key), never on
how fast anything ran."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import timedelta

import psycopg
import pytest
from click.testing import CliRunner

import durable
from conftest import events, status_of, wait_for
from durable.cli import main

FINISHED = ("succeeded", "failed", "cancelled")


def _all_finished(conn: psycopg.Connection, ids: list[str]) -> bool:
    row = conn.execute("select count(*) from durable.runs where id = any(%s) and status = any(%s)",
                       [ids, list(FINISHED)]).fetchone()
    return row[0] == len(ids)


def _plan(n_steps: int = 1, sleep: float = 0.0) -> dict:
    return {"steps": [{"kind": "plain", "sleep": sleep} for _ in range(n_steps)]}


def test_rate_limited_queue_starts_no_more_than_the_limit_in_any_window(
        app, conn, queue, start_worker):
    """3 starts per second with 2 workers of 4 slots: in every window of a second, counted
    from each recorded start, at most 3 runs started (durable.runs.started_at)."""
    app.set_queue(queue, rate_limit=3, rate_period=1.0)
    handles = app.enqueue_many("script", [[_plan()] for _ in range(9)], queue=queue)
    ids = [h.workflow_id for h in handles]
    start_worker(queue, concurrency=4)
    start_worker(queue, concurrency=4)
    wait_for(lambda: _all_finished(conn, ids), timeout=60, what="9 rate-limited runs")

    starts = sorted(r[0] for r in conn.execute(
        "select started_at from durable.runs where id = any(%s)", [ids]).fetchall())
    assert len(starts) == 9 and all(status_of(conn, i) == "succeeded" for i in ids)
    per_window = [sum(1 for s in starts if t <= s < t + timedelta(seconds=1)) for t in starts]
    assert max(per_window) <= 3, (per_window, starts)
    # the 9 starts need at least 3 windows: the first and the last are 2 periods apart or more
    assert starts[-1] - starts[0] >= timedelta(seconds=2)


def test_queue_settings_and_next_start_show_in_the_cli(app, conn, queue, dsn):
    """set_queue keeps what it is not given; `durable queues` shows the rate limit, the next
    allowed start while the window is full, and the per-key limit."""
    app.set_queue(queue, rate_limit=1, rate_period=3600, key_concurrency=2)
    app.set_queue(queue, paused=True)
    app.set_queue(queue, paused=False)
    row = conn.execute("select rate_limit, rate_period, key_concurrency, paused"
                       " from durable.queues where name = %s", [queue]).fetchone()
    assert row == (1, timedelta(hours=1), 2, False)

    app.enqueue("script", _plan(), queue=queue)
    app.enqueue("script", _plan(), queue=queue)
    claimed = durable.db.claim(conn, f"w-{uuid.uuid4().hex[:6]}", [queue], 5, 30)
    assert len(claimed) == 1  # the window of an hour is full after one start

    runner = CliRunner()
    out = runner.invoke(main, ["--dsn", dsn, "queues", "--json"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    mine = next(q for q in json.loads(out.output) if q["queue"] == queue)
    assert (mine["rate_limit"], mine["rate_period"], mine["key_concurrency"]) == (1, 3600.0, 2)
    assert mine["next_start_at"] is not None
    table = runner.invoke(main, ["--dsn", dsn, "queues"], catch_exceptions=False).output
    assert "NEXT_START_AT" in table and "1/1h00m" in table

    app.set_queue(queue, rate_limit=0, key_concurrency=0)
    assert conn.execute("select rate_limit, rate_period, key_concurrency from durable.queues"
                        " where name = %s", [queue]).fetchone() == (None, None, None)
    with pytest.raises(durable.MissingArgument):
        app.set_queue(queue, rate_period=1)
    with pytest.raises(durable.BadArgument):
        app.set_queue(queue, rate_limit=5, rate_period=2 * 86400)


def test_per_key_limit_holds_across_two_workers(app, conn, queue, start_worker):
    """key_concurrency 1, two workers of 4 slots, 3 runs of each of two keys: the step events
    of runs of one key never overlap (one ends before the next starts), and every run
    succeeds; runs without a key are not held back."""
    app.set_queue(queue, key_concurrency=1)
    ids = {key: [app.enqueue("script", _plan(sleep=0.3), queue=queue,
                             concurrency_key=key).workflow_id for _ in range(3)]
           for key in ("acme", "bolt")}
    free = app.enqueue_many("script", [[_plan()] for _ in range(3)], queue=queue)
    everything = ids["acme"] + ids["bolt"] + [h.workflow_id for h in free]
    start_worker(queue, concurrency=4)
    start_worker(queue, concurrency=4)
    wait_for(lambda: _all_finished(conn, everything), timeout=60, what="the keyed runs")
    assert all(status_of(conn, i) == "succeeded" for i in everything)

    for key, runs in ids.items():
        assert conn.execute("select count(*) from durable.runs where concurrency_key = %s"
                            " and id = any(%s)", [key, runs]).fetchone()[0] == 3
        spans = sorted(
            conn.execute("select min(at) filter (where phase = 'start'),"
                         " max(at) filter (where phase = 'end') from testapp.events"
                         " where workflow_id = %s", [wid]).fetchone()
            for wid in runs)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end < start, (key, spans)


def test_dedup_key_refuses_a_second_pending_run_until_the_first_starts(app, conn, queue):
    """dedup_key: Deduplicated (DU019) while the first waits for its claim, also in a batch;
    the same workflow_id again is the idempotent enqueue; once the first started the key is
    free."""
    first = app.enqueue("script", _plan(), queue=queue, workflow_id=f"d-{uuid.uuid4().hex[:8]}",
                        dedup_key="nightly")
    with pytest.raises(durable.Deduplicated) as refused:
        app.enqueue("script", _plan(), queue=queue, dedup_key="nightly")
    assert refused.value.sqlstate == "DU019" and first.workflow_id in str(refused.value)
    assert durable.DU019 is durable.Deduplicated
    again = app.enqueue("script", _plan(), queue=queue, workflow_id=first.workflow_id,
                        dedup_key="nightly")
    assert (again.workflow_id, again.created) == (first.workflow_id, False)
    with pytest.raises(durable.Deduplicated):
        app.enqueue_many("script", [[_plan()], [_plan()]], queue=queue, dedup_key=["a", "a"])
    made = app.enqueue_many("script", [[_plan()], [_plan()]], queue=queue,
                            dedup_key=["a", "b"], concurrency_key="acme")
    stored = conn.execute("select array_agg(dedup_key order by dedup_key),"
                          " bool_and(concurrency_key = 'acme') from durable.workflows"
                          " where id = any(%s)", [[h.workflow_id for h in made]]).fetchone()
    assert stored == (["a", "b"], True)

    durable.db.claim(conn, f"w-{uuid.uuid4().hex[:6]}", [queue], 10, 30)
    assert status_of(conn, first.workflow_id) == "running"
    assert app.enqueue("script", _plan(), queue=queue, dedup_key="nightly").created


def test_reused_id_with_another_input_is_refused_on_request(app, conn, queue):
    """if_exists="refuse_different_input": InputConflict (DU018) for another input, the
    existing run for the same one; the default returns the existing run whatever the input."""
    wid = f"o-{uuid.uuid4().hex[:8]}"
    app.enqueue("script", _plan(1), queue=queue, workflow_id=wid)
    assert not app.enqueue("script", _plan(2), queue=queue, workflow_id=wid).created
    with pytest.raises(durable.InputConflict) as refused:
        app.enqueue("script", _plan(2), queue=queue, workflow_id=wid,
                    if_exists="refuse_different_input")
    assert refused.value.sqlstate == "DU018"
    same = app.enqueue("script", _plan(1), queue=queue, workflow_id=wid,
                       if_exists="refuse_different_input")
    assert (same.workflow_id, same.created) == (wid, False)
    with pytest.raises(durable.InputConflict):
        app.enqueue_many("script", [[_plan(3)]], queue=queue, workflow_ids=[wid],
                         if_exists="refuse_different_input")
    with pytest.raises(durable.BadArgument):
        app.enqueue("script", _plan(1), queue=queue, workflow_id=wid, if_exists="sometimes")


def test_fork_through_python_and_cli_copies_steps_and_leaves_the_original(
        app, conn, queue, start_worker, dsn):
    """app.fork and `durable fork`: the new run records where it came from, is pinned to the
    version given, has the steps before the position copied and succeeds; the original keeps
    its steps."""
    original = app.enqueue("script", _plan(3), queue=queue)
    start_worker(queue)
    assert original.result(timeout=30) is not None
    before = conn.execute("select step_id, output from durable.steps where workflow_id = %s"
                          " order by step_id", [original.workflow_id]).fetchall()

    fork = app.fork(original.workflow_id, 2)
    assert fork.workflow_id != original.workflow_id
    wait_for(lambda: status_of(conn, fork.workflow_id) == "succeeded", timeout=30,
             what="the fork")
    assert conn.execute("select forked_from, forked_at from durable.runs where id = %s",
                        [fork.workflow_id]).fetchone() == (original.workflow_id, 2)
    copied = conn.execute("select step_id, output from durable.steps where workflow_id = %s"
                          " and step_id < 2 order by step_id", [fork.workflow_id]).fetchall()
    assert copied == before[:2]
    assert conn.execute("select step_id, output from durable.steps where workflow_id = %s"
                        " order by step_id", [original.workflow_id]).fetchall() == before

    runner = CliRunner()
    new_id = f"f-{uuid.uuid4().hex[:8]}"
    out = runner.invoke(main, ["--dsn", dsn, "fork", original.workflow_id, "1", "--id", new_id,
                               "--version", "v-next"], catch_exceptions=False)
    assert out.exit_code == 0 and new_id in out.output, out.output
    assert conn.execute("select forked_from, forked_at, version, status from durable.workflows"
                        " where id = %s", [new_id]).fetchone() == (
        original.workflow_id, 1, "v-next", "pending")
    refused = runner.invoke(main, ["--dsn", dsn, "fork", "nobody", "0"])
    assert refused.exit_code != 0 and "DU003" in refused.output
    with pytest.raises(durable.IdConflict):
        app.fork(original.workflow_id, 0, new_id=new_id)
    with pytest.raises(durable.UnknownWorkflow):
        app.fork("nobody", 0)


def test_fork_does_not_run_the_copied_steps_again(app, conn, queue, start_worker):
    """The steps before the fork's position are replayed, not run: the worker writes no start
    event for them in the fork."""
    original = app.enqueue("script", _plan(3), queue=queue)
    start_worker(queue)
    original.result(timeout=30)
    fork = app.fork(original.workflow_id, 2)
    wait_for(lambda: status_of(conn, fork.workflow_id) == "succeeded", timeout=30,
             what="the fork")
    ran = [e["step"] for e in events(conn, fork.workflow_id) if e["phase"] == "start"]
    assert ran == [2]
