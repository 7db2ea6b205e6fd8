"""Keyword arguments for workflows and steps (issue 12, item 5), with real worker processes:
the input's two shapes (an array of positional arguments, or {"$args", "$kwargs"}), arguments
checked against the workflow's parameters at enqueue before anything is written, children
started with keyword arguments, and psql's enqueue of the keyword shape."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

import durable
import durable_kwargsapp as kw
from conftest import HERE, LEASE, WorkerProcess
from durable import Args
from durable.execution import args_of, input_of


class KwargsWorker(WorkerProcess):
    """A real `durable worker durable_kwargsapp:app` process."""

    def __init__(self, dsn: str, queue: str, log: Path):
        self.dsn = dsn
        self.worker_id = f"test-kw-{uuid.uuid4().hex[:8]}"
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in wait()/kill()
        env = dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "durable_kwargsapp:app", "--path",
             str(HERE), "--queues", queue, "--concurrency", "4", "--lease-timeout", str(LEASE),
             "--poll-interval", "0.5", "--grace", "5", "--worker-id", self.worker_id],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=HERE,
        )
        self.pid = self.proc.pid


@pytest.fixture
def kapp(dsn: str) -> Iterator[durable.Durable]:
    """durable_kwargsapp.app pointed at the test database."""
    kw.app.dsn = dsn
    yield kw.app
    kw.app.close()


@pytest.fixture
def worker(dsn: str, conn: psycopg.Connection, queue: str, tmp_path: Path
           ) -> Iterator[KwargsWorker]:
    """A ready worker process of durable_kwargsapp on the test's queue, SIGKILLed at the end."""
    proc = KwargsWorker(dsn, queue, tmp_path / "kwargs-worker.log")
    try:
        yield proc.wait_ready(conn)
    finally:
        proc.kill()


def stored_input(conn: psycopg.Connection, workflow_id: str) -> Any:
    """The input durable.runs shows for a run."""
    return conn.execute("select input from durable.runs where id = %s",
                        [workflow_id]).fetchone()[0]


def runs_named(conn: psycopg.Connection, name: str) -> int:
    """How many runs of workflow name exist."""
    return conn.execute("select count(*) from durable.runs where name = %s", [name]).fetchone()[0]


# -- the input's shapes ------------------------------------------------------------------------


def test_input_is_an_array_without_keywords_and_an_object_with_them():
    """input_of writes the array psql and other languages read when there are no keyword
    arguments; args_of reads both shapes back, and the old rules (null none, a scalar one)."""
    assert input_of((1, "a"), {}) == [1, "a"]
    assert input_of((1,), {"mode": "x"}) == {"$args": [1], "$kwargs": {"mode": "x"}}
    assert args_of([1, "a"]) == ([1, "a"], {})
    assert args_of({"$args": [1], "$kwargs": {"mode": "x"}}) == ([1], {"mode": "x"})
    assert args_of({"$args": [], "$kwargs": {}}) == ([], {})
    assert args_of(None) == ([], {})
    assert args_of(7) == ([7], {})
    # any other object is one positional argument, as before
    assert args_of({"$args": [1]}) == ([{"$args": [1]}], {})
    assert args_of({"$args": [], "$kwargs": {}, "x": 1}) == ([{"$args": [], "$kwargs": {},
                                                               "x": 1}], {})
    with pytest.raises(TypeError, match=r'an array for "\$args" and an object for "\$kwargs"'):
        args_of({"$args": {}, "$kwargs": []})


# -- end to end --------------------------------------------------------------------------------


def test_a_workflow_gets_its_keyword_arguments_and_its_steps_theirs(kapp, conn, queue, worker):
    """app.options(...).start with keyword arguments: stored as {"$args", "$kwargs"}, the
    worker calls the workflow with them, and its step gets its own keyword arguments."""
    wid = f"kw-{uuid.uuid4().hex[:8]}"
    handle = kapp.options(queue=queue, workflow_id=wid).start(kw.price, "tea", 3, discount=25,
                                                              note="gift")
    assert handle.workflow_id == wid
    assert stored_input(conn, wid) == {"$args": ["tea", 3], "$kwargs": {"discount": 25,
                                                                        "note": "gift"}}
    assert handle.result(timeout=30) == {"item": "tea", "quantity": 3, "discount": 25,
                                         "note": "gift", "total": 275}
    steps = conn.execute("select name, output from durable.run_steps where workflow_id = %s",
                         [wid]).fetchall()
    assert steps == [("scale", 275)]


def test_positional_arguments_are_still_stored_as_an_array(kapp, conn, queue, worker):
    """Without keyword arguments the input is the array of arguments, as before (app.enqueue
    with its option keywords, and a workflow keyword, which is the workflow's)."""
    plain = kapp.enqueue(kw.price, "mug", 2, queue=queue)
    assert stored_input(conn, plain.workflow_id) == ["mug", 2]
    mixed = kapp.enqueue(kw.price, "mug", queue=queue, discount=5)
    assert stored_input(conn, mixed.workflow_id) == {"$args": ["mug"], "$kwargs": {"discount": 5}}
    assert plain.result(timeout=30)["total"] == 200
    assert mixed.result(timeout=30)["total"] == 95


def test_app_start_passes_every_keyword_to_the_workflow(kapp, conn, queue, worker):
    """A workflow parameter named like an option (queue, workflow_id) is the workflow's with
    app.start; the options go to app.options."""
    handle = kapp.options(queue=queue).start(kw.named_like_options, queue="q-arg",
                                             workflow_id="id-arg")
    assert handle.workflow_id != "id-arg"
    assert handle.result(timeout=30) == ["q-arg", "id-arg"]


def test_psql_enqueues_keyword_arguments_with_the_object_shape(kapp, conn, queue, worker):
    """durable.enqueue from SQL with {"$args": [...], "$kwargs": {...}} as its input."""
    wid = conn.execute(
        "select workflow_id from durable.enqueue('kw_price', %s, p_queue => %s)",
        [Jsonb({"$args": ["kettle"], "$kwargs": {"quantity": 2, "note": "psql"}}), queue],
    ).fetchone()[0]
    assert kapp.handle(wid).result(timeout=30) == {"item": "kettle", "quantity": 2,
                                                   "discount": 0, "note": "psql", "total": 200}


def test_children_are_started_with_keyword_arguments(kapp, conn, queue, worker):
    """Inside a workflow, app.start and app.enqueue_many start children with keyword
    arguments (start_child, start_children); their inputs keep the keywords."""
    handle = kapp.enqueue(kw.parent, queue=queue)
    out = handle.result(timeout=60)
    assert out["one"] == {"item": "tea", "quantity": 2, "discount": 50, "note": "child",
                          "total": 150}
    assert out["many"] == [
        {"item": "mug", "quantity": 1, "discount": 1, "note": None, "total": 99},
        {"item": "kettle", "quantity": 3, "discount": 0, "note": None, "total": 300},
    ]
    inputs = conn.execute("select input from durable.runs where parent_id = %s order by id",
                          [handle.workflow_id]).fetchall()
    # ids "<parent>-0" (start_child) and "<parent>-2-1", "<parent>-2-2" (start_children)
    assert [i for (i,) in inputs] == [
        {"$args": ["tea", 2], "$kwargs": {"discount": 50, "note": "child"}},
        {"$args": ["mug"], "$kwargs": {"discount": 1}},
        {"$args": [], "$kwargs": {"item": "kettle", "quantity": 3}},
    ]


def test_a_step_called_with_a_wrong_keyword_raises_at_the_call(kapp, conn, queue, worker):
    """A step whose arguments do not fit raises TypeError in the workflow's code, before it
    runs or takes a position: nothing is recorded for it and it is not retried."""
    handle = kapp.enqueue(kw.bad_step_call, queue=queue)
    message = handle.result(timeout=30)
    assert message.startswith("step 'scale' cannot take these arguments: ")
    assert "factr" in message
    assert conn.execute("select count(*) from durable.run_steps where workflow_id = %s",
                        [handle.workflow_id]).fetchone()[0] == 0


# -- refused at enqueue, before anything is written --------------------------------------------


BAD_CALLS: list[tuple[str, Callable[[durable.Durable, str], Any], str]] = [
    ("too many", lambda app, q: app.options(queue=q).start(kw.price, "a", 1, 2),  # type: ignore
     "too many positional arguments"),
    ("missing", lambda app, q: app.options(queue=q).start(kw.price),  # type: ignore
     "missing a required argument: 'item'"),
    ("unknown keyword", lambda app, q: app.start(kw.price, "a", colour="red"),  # type: ignore
     "got an unexpected keyword argument 'colour'"),
    ("twice", lambda app, q: app.enqueue(kw.price, "a", queue=q, item="b"),
     "multiple values for argument 'item'"),
    ("keyword-only given positionally",
     lambda app, q: app.enqueue(kw.price, "a", 1, 5, queue=q),
     "too many positional arguments"),
    ("by name", lambda app, q: app.enqueue("kw_price", queue=q, quantity=2),
     "missing a required argument: 'item'"),
]


@pytest.mark.parametrize("call,expected", [(c, e) for _, c, e in BAD_CALLS],
                         ids=[n for n, _, _ in BAD_CALLS])
def test_arguments_that_do_not_fit_are_refused_before_anything_is_written(kapp, conn, queue,
                                                                          call, expected):
    """TypeError naming the workflow, the mistake and its parameters; no run is written."""
    before = runs_named(conn, "kw_price")
    with pytest.raises(TypeError) as refused:
        call(kapp, queue)
    message = str(refused.value)
    assert message.startswith("workflow 'kw_price' cannot take these arguments: ")
    assert expected in message
    assert message.endswith("its parameters are (item: 'str', quantity: 'int' = 1, *, "
                            "discount: 'int' = 0, note: 'str | None' = None) -> 'dict'")
    assert runs_named(conn, "kw_price") == before


def test_enqueue_many_refuses_the_whole_batch_for_one_bad_item(kapp, conn, queue):
    """One item that does not fit refuses the batch before it is sent, naming its index."""
    before = runs_named(conn, "kw_price")
    with pytest.raises(TypeError, match=r"^arg_lists\[2\]: workflow 'kw_price' cannot take "
                                        r"these arguments: got an unexpected keyword argument "
                                        r"'discout'"):
        kapp.enqueue_many(kw.price, [["a"], Args("b", discount=1), Args("c", discout=1)],
                          queue=queue)
    with pytest.raises(TypeError, match=r"^arg_lists\[0\]: .*missing a required argument"):
        kapp.enqueue_many(kw.price, [{"quantity": 1}], queue=queue)
    with pytest.raises(TypeError, match=r"arg_lists\[1\] must be a list of arguments, a "
                                        r"mapping of keyword arguments or durable.Args"):
        kapp.enqueue_many(kw.price, [["a"], 5], queue=queue)  # type: ignore[list-item]
    assert runs_named(conn, "kw_price") == before


def test_enqueue_many_stores_each_item_in_its_shape(kapp, conn, queue):
    """A list is positional (an array), a mapping or Args with keywords the object shape."""
    handles = kapp.enqueue_many(kw.price, [["a", 2], {"item": "b"}, Args("c", note="n")],
                                queue=queue)
    assert [stored_input(conn, h.workflow_id) for h in handles] == [
        ["a", 2], {"$args": [], "$kwargs": {"item": "b"}},
        {"$args": ["c"], "$kwargs": {"note": "n"}}]
    for h in handles:
        h.cancel()


def test_a_schedule_input_that_does_not_fit_is_refused_at_decoration():
    """@app.schedule's input is checked against the workflow's parameters, whichever of the
    two decorators comes first; Args gives it keyword arguments."""
    app = durable.Durable()
    with pytest.raises(TypeError, match="workflow 'nightly' cannot take these arguments"):
        @app.schedule("@daily", input=Args(colour="red"))
        @app.workflow()
        def nightly(day: str = "today") -> str:
            return day

    other = durable.Durable()

    @other.workflow()
    def fine(day: str = "today", *, mode: str = "full") -> str:
        return day + mode

    with pytest.raises(TypeError, match="workflow 'late' cannot take these arguments"):
        @other.workflow()
        @other.schedule("@daily", input=["a", "b"])
        def late(day: str) -> str:
            return day

    decorate = other.schedule("@hourly", input=Args("d", mode="quick"))
    decorate(fine)
    assert other.schedules[-1].input == {"$args": ["d"], "$kwargs": {"mode": "quick"}}
