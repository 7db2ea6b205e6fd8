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


@app.step()
async def fetch(sku: str) -> float:
    """An async def step: awaited in an async workflow."""
    return float(len(sku))


@app.transaction()
async def hold(conn: psycopg.AsyncConnection[Any], sku: str) -> int:
    """An async def transactional step: an AsyncConnection first, left out by callers."""
    await conn.execute("select 1")
    return len(sku)


@app.workflow()
async def quote(skus: list[str], *, margin: float = 0.0) -> dict[str, float]:
    """An async def workflow: its steps awaited, its result type the coroutine's value."""
    assert_type(await fetch(skus[0]), float)
    assert_type(await hold(skus[0]), int)
    child = await durable.AsyncDurable(app).start(order, "o-9")  # a child, inside a workflow
    assert_type(child, durable.AsyncWorkflowHandle[dict[str, int]])
    return {"total": sum([await fetch(s) for s in skus]) + margin}


async def async_client(conn: psycopg.AsyncConnection[Any]) -> None:
    """The async client: typed handles whose awaited result() is the workflow's return type, for
    async def and def workflows alike."""
    client = durable.AsyncDurable(app)
    handle = await client.start(quote, ["a", "b"], margin=1.5)
    assert_type(handle, durable.AsyncWorkflowHandle[dict[str, float]])
    assert_type(await handle.result(timeout=30), dict[str, float])
    assert_type(await (await client.start(order, "o-1")).result(), dict[str, int])
    opts = client.options(workflow_id="quote-1", queue="quotes", conn=conn)
    assert_type(await opts.start(quote, ["c"]), durable.AsyncWorkflowHandle[dict[str, float]])
    assert_type(await client.enqueue(quote, ["d"], queue="quotes"),
                durable.AsyncWorkflowHandle[dict[str, float]])
    assert_type(await client.enqueue("quote", ["e"]), durable.AsyncWorkflowHandle[Any])
    assert_type(await client.enqueue_many(quote, [[["f"]], {"skus": ["g"]}]),
                list[durable.AsyncWorkflowHandle[dict[str, float]]])
    assert_type(client.handle("quote-1"), durable.AsyncWorkflowHandle[Any])
    # the sync client knows an async def workflow's result type too
    assert_type(app.start(quote, ["h"]), durable.WorkflowHandle[dict[str, float]])
    assert_type(app.enqueue(quote, ["i"]).result(), dict[str, float])
    assert_type(await hold("outside"), int)  # outside a workflow: its own transaction


def step_kind_from_a_variable(transactional: bool) -> None:
    """transactional given as a bool (not a literal): the decorator is untyped, not refused."""

    @app.step(transactional=transactional)
    def either(*args: Any) -> int:
        return len(args)

    assert_type(either, Callable[..., Any])
