"""Mistakes mypy --strict must reject: each line marked with `# E: <text>` must get an error
whose message contains <text>, and no other line may get one (tests/python/test_typing.py runs
mypy on this file and compares). Never run."""

from __future__ import annotations

from typing import Any

import psycopg

import durable

app = durable.Durable()


@app.step()
def scale(value: int, *, factor: int = 1) -> int:
    return value * factor


@app.transaction()
def reserve(conn: psycopg.Connection[Any], order_id: str) -> bool:
    return bool(order_id)


@app.workflow()
def order(order_id: str, quantity: int = 1, *, express: bool = False) -> dict[str, int]:
    return {"total": scale(quantity)}


@app.workflow()
async def quote(skus: list[str], *, margin: float = 0.0) -> dict[str, float]:
    return {"total": margin}


@app.transaction()
async def hold(conn: psycopg.AsyncConnection[Any], sku: str) -> int:
    return len(sku)


def plain(order_id: str) -> str:
    return order_id


def mistakes() -> None:
    app.start(order)  # E: Missing positional argument "order_id"
    app.start(order, 17)  # E: Argument 2 to "start" of "Durable" has incompatible type "int"
    app.start(order, "o-1", 2, True)  # E: Too many positional arguments for "start" of "Durable"
    app.start(order, "o-1", expres=True)  # E: Unexpected keyword argument "expres"
    app.start(order, "o-1", workflow_id="x")  # E: Unexpected keyword argument "workflow_id"
    app.options(queue="q").start(order, quantity="2")  # E: incompatible type "str"; expected "int"
    app.options(queue=3)  # E: Argument "queue" to "options" of "Durable" has incompatible type
    app.start(plain, "o-1")  # E: Argument 1 to "start" of "Durable" has incompatible type
    app.start("order", "o-1")  # E: Argument 1 to "start" of "Durable" has incompatible type "str"
    handle = app.start(order, "o-1")
    wrong: str = handle.result()  # E: Incompatible types in assignment
    also: list[int] = app.enqueue(order, "o-1", queue="q").result()  # E: Incompatible types
    scale("2")  # E: Argument 1 to "scale" has incompatible type "str"; expected "int"
    scale(2, 3)  # E: Too many positional arguments for "scale"
    reserve(psycopg.connect(), "o-1")  # E: Too many arguments for "reserve"
    reserve(7)  # E: Argument 1 to "reserve" has incompatible type "int"; expected "str"
    app.enqueue_many(order, [5])  # E: List item 0 has incompatible type "int"
    print(wrong, also)


async def async_mistakes() -> None:
    client = durable.AsyncDurable(app)
    await client.start(quote)  # E: Missing positional argument "skus"
    await client.start(quote, "a")  # E: Argument 2 to "start" of "AsyncDurable" has incompatible
    await client.start(quote, ["a"], margn=1.0)  # E: Unexpected keyword argument "margn"
    await client.start(order, "o-1", queue="q")  # E: Unexpected keyword argument "queue"
    await client.options(queue="q").start(quote, [1])  # E: List item 0 has incompatible type
    handle = await client.start(quote, ["a"])
    wrong: str = await handle.result()  # E: Incompatible types in assignment
    also: int = await (await client.enqueue(order, "o-1")).result()  # E: Incompatible types
    await hold(3)  # E: Argument 1 to "hold" has incompatible type "int"; expected "str"
    print(wrong, also)
