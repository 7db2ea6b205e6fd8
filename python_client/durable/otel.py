"""OpenTelemetry spans for workflow attempts and steps, when opentelemetry-api is installed
(`pip install durable[otel]`); without it every function here is a plain call and nothing is
imported.

Spans (the tracer is named "durable"; the application configures the TracerProvider, its
exporters and sampling, as for any OpenTelemetry instrumentation):

- `workflow <name>` (kind CONSUMER): one per attempt of a run in a worker, from its claim to its
  end (completed, failed, retry scheduled, parked in a wait, or stopped). Its parent is the
  trace context the run was enqueued with (durable.workflows.trace_context, a W3C traceparent
  that app.enqueue and app.enqueue_many store from the caller's current span), so a request's
  trace continues in the worker; a run enqueued outside any span starts a trace of its own.
  A child workflow's is the span of the parent's step that started it (`step
  durable.start_child` or `step durable.start_children`, passed as start_child's
  p_trace_context), as a message's consumer span continues its producer's (OpenTelemetry's
  messaging conventions): the child's attempts hang under the step that enqueued them, not
  under the request that enqueued the parent.
- `step <name>` (kind INTERNAL): one per try of a step the worker executes (a replayed step,
  whose outcome came with the claim, runs no code and has no span), and one per wait or other
  step the SQL records itself (sleep, recv, await_event, start_child, send, ...).

Async def workflows (durable.aio's runner) make the same spans (aexecute, acall_step,
asql_step): the current span is a contextvar, so each asyncio task has its own; steps started
together (asyncio.gather runs each in a task of its own, its context copied from the workflow's)
each get a step span whose parent is the attempt's, and a sync step run in the loop's thread
pool runs with its step span current.

Attributes: durable.workflow.id, durable.workflow.name, durable.workflow.attempt, durable.queue
(attempt spans), durable.step.position, durable.step.name and durable.step.try (step spans),
and durable.outcome on both: ok, error, parked (a wait released the run's lease) or stopped
(the lease was lost, the run was cancelled, the worker is stopping, or the run was dropped).
An error sets the span's status to ERROR with the error's type and message. The attribute names
follow the OpenTelemetry naming rules (lowercase, dot-separated namespaces); there is no
semantic convention for durable workflows yet.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import Cancelled, LeaseLost

try:
    from opentelemetry import context as _context
    from opentelemetry import trace as _trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # the extra is not installed: tracing is off
    _trace = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import psycopg

    from .aio import AsyncRun
    from .execution import Run, StepInfo

T = TypeVar("T")

_OUTCOMES = {"succeeded": "ok", "pending": "error", "failed": "error", "waiting": "parked",
             "stopped": "stopped"}

if _trace is not None:
    _tracer = _trace.get_tracer("durable")
    _propagator = TraceContextTextMapPropagator()


def enabled() -> bool:
    """Whether opentelemetry-api is installed (spans are made; recorded once the application
    sets a TracerProvider)."""
    return _trace is not None


def traceparent() -> str | None:
    """The W3C traceparent of the current span, to store with a run being enqueued; None when
    tracing is off or no valid span is current."""
    if _trace is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def _end(span: Any, outcome: str, error: str | None = None) -> None:
    span.set_attribute("durable.outcome", outcome)
    if outcome == "error":
        span.set_status(_trace.Status(_trace.StatusCode.ERROR, error))


@contextmanager
def _attempt(run: Run | AsyncRun) -> Iterator[Any]:
    """A `workflow <name>` span, current, whose parent is the run's stored trace context; an
    exception out of it (the run dropped: its lease expires, it resumes later) ends it stopped."""
    claimed = run.claimed
    parent = (_propagator.extract({"traceparent": claimed.trace_context})
              if claimed.trace_context else _context.Context())
    with _tracer.start_as_current_span(
            f"workflow {claimed.name}", context=parent, kind=_trace.SpanKind.CONSUMER,
            attributes={"durable.workflow.id": claimed.workflow_id,
                        "durable.workflow.name": claimed.name,
                        "durable.workflow.attempt": claimed.attempt,
                        "durable.queue": claimed.queue},
            record_exception=False, set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            span.record_exception(exc)
            _end(span, "stopped")
            raise


def _ended(span: Any, run: Run | AsyncRun, outcome: str) -> str:
    span.set_attribute("durable.steps.replayed", run.replayed)
    span.set_attribute("durable.steps.executed", run.executed)
    _end(span, _OUTCOMES.get(outcome, outcome), run.failure)
    return outcome


def execute(run: Run, conn: psycopg.Connection | None) -> str:
    """run.execute(conn) in a `workflow <name>` span whose parent is the run's stored trace
    context; returns its outcome."""
    if _trace is None:
        return run.execute(conn)
    with _attempt(run) as span:
        return _ended(span, run, run.execute(conn))


async def aexecute(run: AsyncRun) -> str:
    """await run.execute() (an async def workflow, in its asyncio task) in a `workflow <name>`
    span, as execute; returns its outcome."""
    if _trace is None:
        return await run.execute()
    with _attempt(run) as span:
        return _ended(span, run, await run.execute())


def _step_span(info: StepInfo) -> Any:
    return _tracer.start_as_current_span(
        f"step {info.name}",
        attributes={"durable.workflow.id": info.workflow_id, "durable.step.position": info.step_id,
                    "durable.step.name": info.name, "durable.workflow.attempt": info.attempt,
                    "durable.step.try": info.try_number},
        record_exception=False, set_status_on_exception=False)


def call_step(info: StepInfo, fn: Callable[..., Any], args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Any:
    """fn(*args, **kwargs), a step's code, in a `step <name>` span: outcome ok when it returns,
    error when it raises an Exception, stopped for what stops the run (Stopped, BaseException)."""
    if _trace is None:
        return fn(*args, **kwargs)
    with _step_span(info) as span:
        try:
            value = fn(*args, **kwargs)
        except Exception as exc:
            span.record_exception(exc)
            _end(span, "error", f"{type(exc).__name__}: {exc}")
            raise
        except BaseException:
            _end(span, "stopped")
            raise
        _end(span, "ok")
        return value


def sql_step(info: StepInfo, fn: Callable[..., Any], parks: bool) -> Callable[..., Any]:
    """fn, a call of the durable.* function of a step the SQL records itself (a wait, send,
    start_child), made to run in a `step <name>` span: outcome parked when a wait answered
    parked, ok when it returned, stopped for DU001/DU002, error for another refusal."""
    if _trace is None:
        return fn

    @functools.wraps(fn)
    def traced(*args: Any, **kwargs: Any) -> Any:
        with _step_span(info) as span:
            try:
                answer = fn(*args, **kwargs)
            except (LeaseLost, Cancelled):
                _end(span, "stopped")
                raise
            except Exception as exc:
                span.record_exception(exc)
                _end(span, "error", f"{type(exc).__name__}: {exc}")
                raise
            _end(span, "parked" if parks and answer[0] else "ok")
            return answer

    return traced


async def acall_step(info: StepInfo, call: Callable[[], Awaitable[T]]) -> T:
    """await call(), one try of a step's code in an async workflow, in a `step <name>` span
    (current in the calling task, whose context is its own): outcomes as call_step's (error
    for an Exception; stopped for Stopped, Parked, asyncio.CancelledError)."""
    if _trace is None:
        return await call()
    with _step_span(info) as span:
        try:
            value = await call()
        except Exception as exc:
            span.record_exception(exc)
            _end(span, "error", f"{type(exc).__name__}: {exc}")
            raise
        except BaseException:
            _end(span, "stopped")
            raise
        _end(span, "ok")
        return value


async def asql_step(info: StepInfo, call: Callable[[], Awaitable[Any]], parks: bool) -> Any:
    """await call(), the durable.* function of a step the SQL records itself in an async
    workflow, in a `step <name>` span (a child it starts gets this span's traceparent):
    outcomes as sql_step's (stopped also for Stopped and cancellation, as the async run raises
    them for DU001/DU002)."""
    if _trace is None:
        return await call()
    with _step_span(info) as span:
        try:
            answer = await call()
        except (LeaseLost, Cancelled):
            _end(span, "stopped")
            raise
        except Exception as exc:
            span.record_exception(exc)
            _end(span, "error", f"{type(exc).__name__}: {exc}")
            raise
        except BaseException:
            _end(span, "stopped")
            raise
        _end(span, "parked" if parks and answer[0] else "ok")
        return answer
