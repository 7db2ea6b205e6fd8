"""The app of tests/python/test_otel.py, in this process and in `durable worker` processes;
its async def workflows (otel_a*) run on the worker's event loop (durable.aio).

With DURABLE_TEST_SPANS_FILE set (the worker processes), it sets an OpenTelemetry SDK
TracerProvider that writes each ended span to that file as one JSON line (the SDK's
ConsoleSpanExporter with a one-line formatter): the test reads the worker's spans there.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import durable
from durable import aio

otel_app = durable.Durable(os.environ.get("DATABASE_URL"))

if os.environ.get("DURABLE_TEST_SPANS_FILE"):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    _provider = TracerProvider()
    _provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(
        out=open(os.environ["DURABLE_TEST_SPANS_FILE"], "a"),  # noqa: SIM115 - the process's
        formatter=lambda span: span.to_json(indent=None) + "\n")))
    trace.set_tracer_provider(_provider)


@otel_app.step()
def charge(amount: int) -> int:
    """Step 0 of order."""
    return amount * 2


@otel_app.step()
def ship(charged: int) -> str:
    """Step 1 of order."""
    return f"shipped {charged}"


@otel_app.workflow(name="otel_order")
def order(amount: int) -> str:
    """Two steps."""
    return ship(charge(amount))


@otel_app.step(max_attempts=2, backoff_base=0.01, backoff_max=0.01)
def flaky() -> str:
    """Fails its first try."""
    if durable.step_info().try_number == 1:
        raise ValueError("the first try of flaky fails")
    return "ok"


@otel_app.workflow(name="otel_flaky")
def flaky_workflow() -> str:
    """One step that succeeds on its second try."""
    return flaky()


@otel_app.workflow(name="otel_boom")
def boom(amount: int) -> str:
    """A step, then an error that is not retried."""
    charge(amount)
    raise durable.NonRetryable("the card was declined (code 51)")


@otel_app.workflow(name="otel_nap")
def nap() -> int:
    """Sleeps (the run parks), then one step."""
    durable.sleep(0.3)
    return charge(1)


@otel_app.workflow(name="otel_parent")
def parent(amount: int, queue: str) -> list[str]:
    """A child (one durable.start_child step), two more (one durable.start_children step), then
    a wait for the three (the run parks until they finish)."""
    one = otel_app.enqueue("otel_order", amount, queue=queue)
    more = otel_app.enqueue_many("otel_order", [[amount + 1], [amount + 2]], queue=queue)
    return [h.result() for h in [one, *more]]


@otel_app.step()
async def acharge(amount: int) -> int:
    """An async step: awaits, then doubles."""
    await asyncio.sleep(0.01)
    return amount * 2


@otel_app.workflow(name="otel_aorder")
async def aorder(amount: int) -> str:
    """Two async steps gathered (positions 0 and 1, in call order), then a sync step (2, in the
    loop's thread pool)."""
    first, second = await asyncio.gather(acharge(amount), acharge(amount + 1))
    return await ship(first + second)  # type: ignore[no-any-return, misc]  # awaitable here


@otel_app.step(max_attempts=1)
async def adecline(code: int) -> int:
    """An async step whose only try fails."""
    await asyncio.sleep(0.01)
    raise ValueError(f"the card was declined (code {code})")


@otel_app.workflow(name="otel_aboom", max_attempts=1)
async def aboom(code: int) -> int:
    """An async step that succeeds, then one that fails (no retry left): the run fails (no
    attempt left)."""
    await acharge(code)
    return await adecline(code)


@otel_app.workflow(name="otel_aparent")
async def aparent(amount: int, queue: str) -> list[Any]:
    """A child (one durable.start_child step), two more (one durable.start_children step), then
    a wait for the three (the run parks until they finish)."""
    one = await otel_app.enqueue("otel_aorder", amount, queue=queue)  # type: ignore[misc]
    more = await otel_app.enqueue_many(  # type: ignore[misc]
        "otel_order", [[amount + 1], [amount + 2]], queue=queue)
    done = await aio.wait_all([one, *more])
    return [c.output for c in done]


def _inner_span(name: str) -> None:
    """A span of the application's own, made inside a step: a child of the step's span."""
    from opentelemetry import trace

    with trace.get_tracer("otel_app").start_as_current_span(name):
        pass


@otel_app.step()
def anote(x: int) -> int:
    """A sync step of an async workflow (in the loop's thread pool): makes a span of its own."""
    _inner_span("inside anote")
    return x + 1


@otel_app.transaction()
async def abook(conn: Any, amount: int) -> int:
    """An async def transactional step: makes a span of its own, then a query."""
    _inner_span("inside abook")
    cur = await conn.execute("select %s::int * 3", [amount])
    row = await cur.fetchone()
    return int(row[0])


@otel_app.workflow(name="otel_abook")
async def abook_workflow(amount: int) -> int:
    """A transactional step, then a sync step."""
    return await anote(await abook(amount))  # type: ignore[no-any-return, misc]
