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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import Cancelled, LeaseLost

try:
    from opentelemetry import context as _context
    from opentelemetry import trace as _trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError:  # the extra is not installed: tracing is off
    _trace = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import psycopg

    from .execution import Run, StepInfo

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


def execute(run: Run, conn: psycopg.Connection | None) -> str:
    """run.execute(conn) in a `workflow <name>` span whose parent is the run's stored trace
    context; returns its outcome."""
    if _trace is None:
        return run.execute(conn)
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
            outcome = run.execute(conn)
        except BaseException as exc:  # the run is dropped (its lease expires): it resumes later
            span.record_exception(exc)
            _end(span, "stopped")
            raise
        span.set_attribute("durable.steps.replayed", run.replayed)
        span.set_attribute("durable.steps.executed", run.executed)
        _end(span, _OUTCOMES.get(outcome, outcome), run.failure)
        return outcome


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
