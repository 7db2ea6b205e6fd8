"""Listing and searching runs from Python (durable.runs, over durable.list_runs and the views):
each filter on real runs (run by an in-process worker to succeeded, failed, waiting, or left
pending), keyset paging that stays exact while other sessions enqueue, steps and errors of a
run, the observer's payload-free form, the refusals, and the input index serving the filter."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from click.testing import CliRunner

import durable
from conftest import ADMIN_DSN, ROOT
from durable import runs, testing
from durable.cli import main
from durable.testing import LocalWorker

app = durable.Durable()


@app.step()
def listing_add(a: int, b: int) -> int:
    return a + b


@app.step(max_attempts=1)
def listing_refuse(reason: str) -> None:
    raise durable.NonRetryable(reason)


@app.workflow(name="listing_sum", queue="listing")
def listing_sum(order: dict) -> int:
    return listing_add(order["a"], order["b"])


@app.workflow(name="listing_refused", queue="listing", max_attempts=1)
def listing_refused(order: dict) -> None:
    listing_add(1, 2)
    listing_refuse(order["reason"])


@app.workflow(name="listing_nap", queue="listing")
def listing_nap(order: dict) -> None:
    durable.sleep(3600)


@pytest.fixture
def listing(dsn: str, conn: psycopg.Connection):
    """The listing app on the test database, its queues made, and an in-process worker."""
    conn.execute("select durable.set_queue('listing'), durable.set_queue('listing-later')")
    app.dsn = dsn
    worker = LocalWorker(app)
    yield app, worker
    worker.close()
    app.close()


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


def ids(rows) -> list[str]:
    return [r.id for r in rows]


def mine(rows, tag: str) -> list[str]:
    return [r.id for r in rows if r.id.startswith(tag)]


def test_each_filter_keeps_exactly_the_runs_that_match(listing, tag):
    a, worker = listing
    a.enqueue(listing_sum, {"a": 1, "b": 2, "customer": f"{tag}-c1"}, workflow_id=f"{tag}-1")
    a.enqueue(listing_refused, {"reason": "card declined", "customer": f"{tag}-c2"},
              workflow_id=f"{tag}-2")
    a.enqueue(listing_nap, {"customer": f"{tag}-c1"}, workflow_id=f"{tag}-3")
    report = worker.run_until_idle()
    assert {report.outcome(f"{tag}-{i}") for i in (1, 2, 3)} == {"succeeded", "failed",
                                                                    "waiting"}
    a.enqueue(listing_sum, {"a": 5, "b": 5, "customer": f"{tag}-c2"}, workflow_id=f"{tag}-4",
              queue="listing-later")

    every = a.list_runs(limit=1000)
    assert mine(every, tag) == [f"{tag}-4", f"{tag}-3", f"{tag}-2", f"{tag}-1"]  # newest first
    by_id = {r.id: r for r in every}
    assert isinstance(by_id[f"{tag}-1"], durable.RunInfo)
    assert by_id[f"{tag}-1"].output == 3 and by_id[f"{tag}-1"].duration is not None
    assert by_id[f"{tag}-2"].error_type == by_id[f"{tag}-2"].error["type"] is not None
    assert by_id[f"{tag}-3"].waiting_for.startswith("sleep until")

    assert mine(a.list_runs(status="succeeded"), tag) == [f"{tag}-1"]
    assert mine(a.list_runs(status=["failed", "waiting"]), tag) == [f"{tag}-3", f"{tag}-2"]
    assert mine(a.list_runs(status="pending"), tag) == [f"{tag}-4"]
    assert mine(a.list_runs(queue="listing-later"), tag) == [f"{tag}-4"]
    assert mine(a.list_runs(name="listing_sum"), tag) == [f"{tag}-4", f"{tag}-1"]
    assert mine(a.list_runs(name="listing_sum", queue="listing"), tag) == [f"{tag}-1"]
    assert ids(a.list_runs(input=[{"customer": f"{tag}-c1"}])) == [f"{tag}-3", f"{tag}-1"]
    assert ids(a.list_runs(input=[{"customer": f"{tag}-c2", "a": 5}])) == [f"{tag}-4"]
    assert a.list_runs(input=[{"customer": f"{tag}-nobody"}]) == []

    # time ranges, bounded by the runs' own times: [after, before)
    second, third = by_id[f"{tag}-2"], by_id[f"{tag}-3"]
    assert mine(a.list_runs(created_after=second.created_at, created_before=third.created_at),
                tag) == [f"{tag}-2"]
    assert mine(a.list_runs(created_after=second.created_at), tag) == [
        f"{tag}-4", f"{tag}-3", f"{tag}-2"]
    finished = sorted([by_id[f"{tag}-1"], second], key=lambda r: r.finished_at)
    assert mine(a.list_runs(finished_after=finished[1].finished_at), tag) == [finished[1].id]
    assert mine(a.list_runs(finished_before=finished[1].finished_at), tag) == [finished[0].id]
    assert mine(a.list_runs(created_after=timedelta(hours=1)), tag) == mine(every, tag)
    assert a.list_runs(created_before=timedelta(hours=1), input=[{"customer": f"{tag}-c1"}]) == []


def test_pages_are_exact_while_other_sessions_enqueue(listing, conn, tag):
    a, _ = listing
    conn.execute("select durable.set_queue(%s)", [f"page-{tag}"])
    a.enqueue_many("listing_sum", [[{"a": i, "b": 0}] for i in range(23)],
                   queue=f"page-{tag}", workflow_ids=[f"{tag}-{i:02}" for i in range(23)])
    before = ids(a.list_runs(queue=f"page-{tag}", limit=1000))
    assert len(before) == 23

    seen: list[str] = []
    page = a.list_runs(queue=f"page-{tag}", limit=5)
    n = 0
    while page:
        seen += ids(page)
        # another session enqueues between every two pages
        with psycopg.connect(conn.info.dsn, autocommit=True) as other:
            for _ in range(3):
                other.execute("select durable.enqueue('listing_sum', '[{\"a\": 0, \"b\": 0}]', %s,"
                              " %s)", [f"page-{tag}", f"{tag}-new-{n}"])
                n += 1
        page = a.list_runs(queue=f"page-{tag}", limit=5, before=page[-1])
    assert seen == before  # every run once, in order; none of the new ones shifted a page

    # iter_runs pages the same way (and the id alone is a cursor too)
    assert list(ids(a.iter_runs(queue=f"page-{tag}", page_size=4)))[-23:] == before
    third = a.list_runs(queue=f"page-{tag}", limit=3, before=before[9])
    assert ids(third) == before[10:13]


def test_steps_errors_and_info_of_a_handle(listing, tag):
    a, worker = listing
    handle = a.enqueue(listing_refused, {"reason": "no stock"}, workflow_id=f"{tag}-r")
    worker.run_until_idle()

    steps = handle.steps()
    assert all(isinstance(s, durable.StepRecord) for s in steps)
    assert [(s.step_id, s.name, s.is_error) for s in steps] == [
        (0, "listing_add", False), (1, "listing_refuse", True)]
    assert steps[0].output == 3 and steps[0].error is None and steps[0].error_type is None
    assert steps[1].error["message"] == "no stock"
    assert steps[1].error_type == steps[1].error["type"] and "NonRetryable" in steps[1].error_type

    errors = handle.errors()
    assert all(isinstance(e, durable.ErrorRecord) for e in errors)
    # newest first: the failed attempt, then the step's failed try
    assert [(e.step_name, e.step_id) for e in errors] == [(None, None),
                                                         ("listing_refuse", 1)]
    recent = a.list_errors(since=timedelta(minutes=10), steps_only=True)
    assert f"{tag}-r" in {e.workflow_id for e in recent}
    assert all(e.step_id is not None for e in recent)
    assert a.list_errors(workflow_id=f"{tag}-r", before=errors[0]) == errors[1:]

    info = handle.info()
    assert (info.id, info.status, info.input, info.attempt) == (
        f"{tag}-r", "failed", [{"reason": "no stock"}], 1)
    with pytest.raises(durable.UnknownWorkflow):
        a.handle(f"{tag}-missing").info()
    assert a.handle(f"{tag}-missing").steps() == []


def test_the_observer_lists_runs_without_payloads(listing, conn, tag):
    a, worker = listing
    a.enqueue(listing_refused, {"reason": "secret"}, workflow_id=f"{tag}-o")
    worker.run_until_idle()
    conn.execute("set role durable_observer")
    try:
        [run] = [r for r in runs.list_runs(conn, payloads=False, status="failed")
                 if r.id == f"{tag}-o"]
        assert (run.input, run.output, run.error) == (None, None, None)
        assert run.error_type is not None
        assert [s.name for s in runs.steps(conn, f"{tag}-o", payloads=False)] == [
            "listing_add", "listing_refuse"]
        assert runs.list_errors(conn, workflow_id=f"{tag}-o", payloads=False)[0].error is None
        assert runs.info(conn, f"{tag}-o", payloads=False).status == "failed"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runs.list_runs(conn, input=[{"reason": "secret"}])
    finally:
        conn.execute("reset role")
    with pytest.raises(TypeError, match="input"):
        a.list_runs(payloads=False, input=[{"reason": "secret"}])


def test_bad_arguments_are_refused_at_the_call(listing):
    a, _ = listing
    with pytest.raises(durable.BadArgument, match="status must be"):
        a.list_runs(status="done")
    with pytest.raises(durable.BadArgument, match="limit must be between 1 and 1000"):
        a.list_runs(limit=0)
    with pytest.raises(durable.BadArgument):
        a.list_runs(created_after=timedelta(0), created_before=timedelta(hours=1))
    with pytest.raises(durable.UnknownQueue):
        a.list_runs(queue="no-such-queue")
    with pytest.raises(durable.UnknownWorkflow):
        a.list_runs(before="no-such-run")
    with pytest.raises(durable.InvalidValue, match="time zone"):
        a.list_runs(created_after=datetime(2030, 1, 1))
    with pytest.raises(durable.BadArgument, match="limit"):
        a.list_errors(limit=5000)
    with pytest.raises(durable.BadArgument, match="limit"):
        list(a.iter_runs(page_size=0))


@pytest.fixture
def own_dsn() -> Iterator[str]:
    """A database of its own (the plan must not depend on what other tests left in theirs),
    deployed with durable.testing.deploy; dropped after."""
    name = f"durable_test_listing_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    own = testing.create_database(ADMIN_DSN, name)
    try:
        testing.deploy(own, ROOT)
        yield own
    finally:
        testing.drop_database(ADMIN_DSN, name)


def test_the_input_index_serves_the_filter_on_a_large_table(own_dsn):
    """durable.index_inputs(true) builds workflows_input; with 20,000 runs, the statement
    list_runs runs for an input filter is planned on it (auto_explain logs the nested plan)."""
    conn = psycopg.connect(own_dsn, autocommit=True)
    try:
        conn.execute("select durable.set_queue('big')")
        conn.execute("""select count(*) from durable.enqueue_batch((
            select jsonb_agg(jsonb_build_object('name', 'listing_sum', 'queue', 'big',
                     'input', jsonb_build_array(jsonb_build_object('customer', 'c-' || g,
                                                                   'a', g))))
              from generate_series(1, 20000) g))""")
        assert conn.execute("select durable.index_inputs(true)").fetchone() == (True,)
        conn.execute("analyze durable.workflows")
        plans: list[str] = []
        conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
        conn.execute("load 'auto_explain'")
        conn.execute("set auto_explain.log_min_duration = 0")
        conn.execute("set auto_explain.log_nested_statements = on")
        conn.execute("set client_min_messages = log")
        found = runs.list_runs(conn, input=[{"customer": "c-777"}])
        conn.execute("set client_min_messages = notice")
        assert [r.input for r in found] == [[{"a": 777, "customer": "c-777"}]]
        nested = [p for p in plans if "Query Text: select r.* from durable.runs r" in p]
        assert nested and "workflows_input" in nested[0], nested or plans
    finally:
        conn.close()


def test_a_naive_cursor_time_is_refused(listing, tag):
    a, _ = listing
    with pytest.raises(durable.InvalidValue):
        a.list_runs(before=(f"{tag}-x", datetime(2030, 1, 1)))
    assert a.list_runs(before=(f"{tag}-x", datetime(2000, 1, 1, tzinfo=timezone.utc))) == []


def test_the_cli_lists_with_the_new_filters_and_pages(dsn, conn, tag):
    """durable list --status (repeated) --input --until --finished-since --before."""
    def listed(*args: str) -> list[str]:
        result = CliRunner().invoke(main, ["--dsn", dsn, "list", "--queue", f"cli-{tag}",
                                           "--json", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return [row["id"] for row in json.loads(result.output)]

    conn.execute("select durable.set_queue(%s)", [f"cli-{tag}"])
    for i in range(4):
        conn.execute("select durable.enqueue('w', %s, %s, %s)",
                     [json.dumps([{"n": i % 2}]), f"cli-{tag}", f"{tag}-{i}"])
    conn.execute("select durable.cancel(%s)", [f"{tag}-1"])
    assert listed() == [f"{tag}-3", f"{tag}-2", f"{tag}-1", f"{tag}-0"]
    assert listed("--status", "pending", "--status", "cancelled") == listed()
    assert listed("--status", "cancelled") == [f"{tag}-1"]
    assert listed("--input", '[{"n": 1}]') == [f"{tag}-3", f"{tag}-1"]
    assert listed("--limit", "2", "--before", f"{tag}-2") == [f"{tag}-1", f"{tag}-0"]
    assert listed("--until", "1h") == []
    assert listed("--finished-since", "1h") == [f"{tag}-1"]
    bad = CliRunner().invoke(main, ["--dsn", dsn, "list", "--input", "{nope"])
    assert bad.exit_code == 2 and "not JSON" in bad.output
