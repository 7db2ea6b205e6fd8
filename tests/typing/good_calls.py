"""Calls mypy --strict must accept, with the types it must infer (assert_type fails the check
when an inferred type differs). Never run: tests/run.sh and tests/python/test_typing.py check
it with mypy; bad_calls.py holds the mistakes mypy must reject."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from typing_extensions import assert_type

import durable

app = durable.Durable()


@app.step(max_attempts=3)
def scale(value: int, *, factor: int = 1) -> int:
    """A step keeps its signature."""
    return value * factor


@app.transaction()
def reserve(conn: psycopg.Connection[Any], order_id: str, quantity: int = 1) -> bool:
    """A transactional step: callers leave out the connection."""
    conn.execute("select 1")
    return quantity > 0


@app.workflow(queue="orders")
def order(order_id: str, quantity: int = 1, *, express: bool = False) -> dict[str, int]:
    """A workflow with positional, defaulted and keyword-only parameters."""
    reserve(order_id, quantity)
    reserve(order_id, quantity=2)
    return {"total": scale(quantity, factor=100), "express": int(express)}


@app.schedule("@daily", input=durable.Args("daily", quantity=1))
@app.workflow()
def nightly(kind: str, quantity: int = 1) -> None:
    """A scheduled workflow returning nothing."""


@app.workflow()
def parent(n: int) -> list[dict[str, int]]:
    """Children started with the typed form inside a workflow."""
    children = [app.start(order, f"o-{i}", i) for i in range(n)]
    assert_type(children, list[durable.WorkflowHandle[dict[str, int]]])
    results = durable.wait_all(children)
    assert_type(results, list[durable.ChildResult])
    return [children[0].result(timeout=60)]


def client(conn: psycopg.Connection[Any]) -> None:
    """The client's typed and untyped forms and what they return."""
    handle = app.start(order, "o-1")
    assert_type(handle, durable.WorkflowHandle[dict[str, int]])
    assert_type(handle.result(timeout=30), dict[str, int])
    assert_type(app.start(order, order_id="o-2", quantity=3, express=True).result(),
                dict[str, int])
    assert_type(app.start(nightly, "weekly").result(), None)

    opts = app.options(workflow_id="order-o-3", queue="orders", delay=5, priority=2,
                       concurrency_key="customer-7", conn=conn)
    assert_type(opts, durable.StartOptions)
    assert_type(opts.start(order, "o-3", express=True), durable.WorkflowHandle[dict[str, int]])

    # app.enqueue: options as keywords (as before), the return type still known
    assert_type(app.enqueue(order, "o-4", workflow_id="order-o-4", queue="orders"),
                durable.WorkflowHandle[dict[str, int]])
    assert_type(app.enqueue("order", "o-5"), durable.WorkflowHandle[Any])
    assert_type(app.enqueue_many(order, [["o-6"], {"order_id": "o-7"},
                                         durable.Args("o-8", express=True)]),
                list[durable.WorkflowHandle[dict[str, int]]])
    assert_type(app.handle("order-o-1").result(), Any)
    assert_type(scale(2, factor=3), int)
    assert_type(reserve("o-1"), bool)


def step_kind_from_a_variable(transactional: bool) -> None:
    """transactional given as a bool (not a literal): the decorator is untyped, not refused."""

    @app.step(transactional=transactional)
    def either(*args: Any) -> int:
        return len(args)

    assert_type(either, Callable[..., Any])
