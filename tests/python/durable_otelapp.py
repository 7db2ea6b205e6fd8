"""The app of tests/python/test_otel.py, in this process and in `durable worker` processes.

With DURABLE_TEST_SPANS_FILE set (the worker processes), it sets an OpenTelemetry SDK
TracerProvider that writes each ended span to that file as one JSON line (the SDK's
ConsoleSpanExporter with a one-line formatter): the test reads the worker's spans there.
"""

from __future__ import annotations

import os

import durable

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
