"""Exceptions: one class per SQLSTATE of class DU, and the client's own few.

Every refusal of the SQL layer arrives as a subclass of DurableError named after what it means
(LeaseLost) and aliased by its code (DU001), carrying the server's message and hint (and, for
DU001 and DU002, the server's JSON DETAIL as a dict: .detail).
"""

from __future__ import annotations

import json
from typing import Any

import psycopg


class DurableError(Exception):
    """Base class of every error raised by the durable client."""

    sqlstate: str | None = None
    detail: dict[str, Any] | None = None

    def __init__(self, message: str, *, hint: str | None = None, sqlstate: str | None = None,
                 detail: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if sqlstate is not None:
            self.sqlstate = sqlstate
        if detail is not None:
            self.detail = detail

    def __str__(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class SQLError(DurableError):
    """A refusal of the durable SQL layer (SQLSTATE class DU) without a class of its own."""


class LeaseLost(SQLError):
    """DU001: the lease is not (or no longer) the workflow's current one: stop executing it.
    detail: {"reason": "lease_lost", "workflow_id", "lease" (the one sent, as a string),
    "status" (the run's status now)}."""

    sqlstate = "DU001"


class Cancelled(SQLError):
    """DU002: the workflow was cancelled, or its deadline passed: stop executing it. detail:
    {"reason": "cancelled" or "deadline_passed", "workflow_id", "lease", "status", and
    "deadline" (ISO 8601) for deadline_passed}."""

    sqlstate = "DU002"


class UnknownWorkflow(SQLError):
    """DU003: no workflow has this id."""

    sqlstate = "DU003"


class UnknownQueue(SQLError):
    """DU004: no queue has this name."""

    sqlstate = "DU004"


class Nondeterminism(SQLError):
    """DU005: another step is recorded at this position: the workflow code is not deterministic."""

    sqlstate = "DU005"


class IdConflict(SQLError):
    """DU006: the workflow id is already used by a workflow of another name."""

    sqlstate = "DU006"


class BadTransition(SQLError):
    """DU007: the state machine does not allow this status change."""

    sqlstate = "DU007"


class PayloadTooLarge(SQLError):
    """DU008: an input, output or error is over durable.settings.max_payload_bytes."""

    sqlstate = "DU008"


class FakeClock(SQLError):
    """DU009: durable.fake_now is set by a session that is not a superuser."""

    sqlstate = "DU009"


class MissingArgument(SQLError):
    """DU010: a required argument is null or empty."""

    sqlstate = "DU010"


class BadArgument(SQLError):
    """DU011: an argument is out of range or inconsistent."""

    sqlstate = "DU011"


class MalformedBatch(SQLError):
    """DU012: an enqueue batch is not a JSON array of objects with known keys."""

    sqlstate = "DU012"


class AlreadyFinished(SQLError):
    """DU013: the workflow already finished and cannot be cancelled."""

    sqlstate = "DU013"


class NotRetryable(SQLError):
    """DU014: only failed or cancelled workflows can be retried."""

    sqlstate = "DU014"


class ForeignWorker(SQLError):
    """DU015: the worker id, or the worker holding the lease, belongs to another login (the
    login that registered a worker id owns it): use worker ids of your own."""

    sqlstate = "DU015"


class NotAChild(SQLError):
    """DU016: a workflow awaited as a child (durable.await_children) is not a child of the
    awaiting workflow, or the id given to start a child is taken by a workflow that is not its
    child of that name."""

    sqlstate = "DU016"


class UnknownSchedule(SQLError):
    """DU017: no schedule has this name (pause_schedule, resume_schedule, trigger_schedule,
    drop_schedule)."""

    sqlstate = "DU017"


class InputConflict(SQLError):
    """DU018: the workflow id is already used by a run with another input (enqueue with
    if_exists="refuse_different_input")."""

    sqlstate = "DU018"


class Deduplicated(SQLError):
    """DU019: a workflow of the queue with this deduplication key is enqueued and not started
    yet."""

    sqlstate = "DU019"


DU001 = LeaseLost
DU002 = Cancelled
DU003 = UnknownWorkflow
DU004 = UnknownQueue
DU005 = Nondeterminism
DU006 = IdConflict
DU007 = BadTransition
DU008 = PayloadTooLarge
DU009 = FakeClock
DU010 = MissingArgument
DU011 = BadArgument
DU012 = MalformedBatch
DU013 = AlreadyFinished
DU014 = NotRetryable
DU015 = ForeignWorker
DU016 = NotAChild
DU017 = UnknownSchedule
DU018 = InputConflict
DU019 = Deduplicated

BY_SQLSTATE: dict[str, type[SQLError]] = {
    cls.sqlstate: cls
    for cls in (
        LeaseLost, Cancelled, UnknownWorkflow, UnknownQueue, Nondeterminism, IdConflict,
        BadTransition, PayloadTooLarge, FakeClock, MissingArgument, BadArgument, MalformedBatch,
        AlreadyFinished, NotRetryable, ForeignWorker, NotAChild, UnknownSchedule, InputConflict,
        Deduplicated,
    )
    if cls.sqlstate
}


class InvalidValue(DurableError, ValueError):
    """A value Postgres cannot take as sent: text or JSON holding NUL (\\u0000) or an unpaired
    surrogate, a number out of range, a naive datetime, ... (refused by the client or by
    Postgres with a data exception, SQLSTATE class 22)."""


VALUE_HINT = ("text and JSON values cannot hold NUL characters (\\u0000) or unpaired surrogates;"
              " escape or remove them")


def translate(exc: psycopg.Error) -> Exception:
    """The durable exception for a psycopg error raised with a DU SQLSTATE (its class) or for a
    value refused by psycopg or by Postgres (InvalidValue), else exc itself."""
    state = exc.sqlstate
    diag = exc.diag
    if isinstance(exc, psycopg.DataError):
        detail = diag.message_detail
        message = diag.message_primary or str(exc)
        hint = diag.message_hint or (VALUE_HINT if "NUL" in message or "Unicode" in message
                                     or "surrogate" in (detail or "") else None)
        return InvalidValue(f"Postgres refused a value: {message}"
                            + (f" ({detail.strip()})" if detail else ""),
                            hint=hint, sqlstate=state)
    if not state or not state.startswith("DU"):
        return exc
    cls = BY_SQLSTATE.get(state, SQLError)
    return cls(diag.message_primary or str(exc), hint=diag.message_hint, sqlstate=state,
               detail=_json_detail(diag.message_detail))


def _json_detail(detail: str | None) -> dict[str, Any] | None:
    """A DETAIL that is a JSON object (DU001 and DU002 carry one: README, Errors) as a dict,
    else None."""
    if not detail or not detail.startswith("{"):
        return None
    try:
        value = json.loads(detail)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class WorkflowFailed(DurableError):
    """The workflow finished with status failed; error holds the error it recorded."""

    def __init__(self, workflow_id: str, error: Any):
        message = error.get("message") if isinstance(error, dict) else None
        super().__init__(f"workflow {workflow_id} failed: {message or error}")
        self.workflow_id = workflow_id
        self.error = error


class WorkflowCancelled(DurableError):
    """The workflow finished with status cancelled."""

    def __init__(self, workflow_id: str):
        super().__init__(f"workflow {workflow_id} was cancelled")
        self.workflow_id = workflow_id


class StepFailed(DurableError):
    """A step ended in error for good (its retries exhausted); raised into the workflow code."""

    def __init__(self, step: str, error: Any):
        message = error.get("message") if isinstance(error, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        text = f"{kind}: {message}" if kind else str(message or error)
        super().__init__(f"step {step} failed: {text}")
        self.step = step
        self.error = error


class NotRegistered(DurableError):
    """No workflow of this name is registered with the Durable app."""


class UnsupportedSchema(DurableError):
    """The database's durable schema is missing, or its version (durable.version()) is not one
    this client supports; the message says what to deploy or install."""


class WrongThread(DurableError, RuntimeError):
    """A step was called from another thread than its workflow's: refused, since it would run
    without its checkpoint (and in no deterministic position)."""


class NotInWorkflow(DurableError, RuntimeError):
    """A workflow-only call (durable.sleep, recv, send, set_event, get_event, wait_all) was made
    outside workflow code (from a client, or from inside a step): call it from the workflow's
    own code; clients use app.send and app.get_event."""


class Stopped(BaseException):
    """The run must stop: the SQL said its lease is lost (DU001) or it was cancelled (DU002), or
    the worker is stopping. Raised at the run's step calls, again at every later one, and never
    recorded. A BaseException, as asyncio.CancelledError is: `except Exception` in workflow code
    does not swallow it."""


class Parked(BaseException):
    """The run is now waiting (a durable sleep, recv, event or child wait that was not yet
    satisfied): the SQL released its lease, and the run goes on from this wait when whatever it
    waits for happens. Raised at the wait, again at every later step or wait call of the run,
    and never recorded; the run is neither completed nor failed. A BaseException, as Stopped:
    `except Exception` in workflow code does not swallow it (code that catches BaseException
    must raise it again)."""


# -- exceptions raised again from their record ---------------------------------------------------
#
# An exception recorded by a step or a workflow (see durable.execution.error_json) names its
# class ("class": "module:QualName"), and its args and attributes when they encode as values
# (durable.values). Inside the workflow, a step's recorded failure is raised again as that
# class; a caller's WorkflowHandle.result() raises a failed workflow's exception the same way.
# The class is resolved by durable.values.resolve: a class registered with
# app.register_exception (or durable.register_type), else the attribute QualName of the module
# (imported when not loaded yet), used only when it is an Exception subclass and not one of
# durable's own errors (those stay StepFailed / WorkflowFailed). The exception raised is an
# instance of a subclass of both that class and StepFailed (WorkflowFailed at result()), so
# `except CardDeclined` and `except StepFailed` both catch it; it prints as the original
# class. Unresolvable classes give a plain StepFailed / WorkflowFailed, as before.

_combined: dict[tuple[type, type], type | None] = {}
_ATTACHED = "__durable_attached__"


def _durable_class(cls: type) -> bool:
    return issubclass(cls, Exception) and not issubclass(cls, DurableError)


def original_class(exc: BaseException) -> type:
    """The class an exception raised again from its record was recorded as (its own class for
    any other exception)."""
    return getattr(type(exc), "_durable_original", type(exc))


def _combine(cls: type, base: type) -> type | None:
    """A subclass of cls and base that prints as cls (cached; None when Python refuses it)."""
    key = (cls, base)
    if key not in _combined:
        try:
            _combined[key] = type(cls.__name__, (cls, base), {
                "__module__": cls.__module__, "__qualname__": cls.__qualname__,
                "__str__": cls.__str__, "__repr__": cls.__repr__,
                "__init__": cls.__init__,  # type: ignore[misc]
                "_durable_original": cls,
                # pickled as the original class (BaseException.__reduce__'s shape)
                "__reduce__": lambda self: (cls, self.args, self.__dict__ or None),
                "__doc__": cls.__doc__})
        except Exception:  # noqa: BLE001 - a layout conflict, a metaclass, __init_subclass__
            _combined[key] = None
    return _combined[key]


def _raised_again(error: Any, base: type, attached: dict[str, Any],
                  where: str) -> BaseException | None:
    """The recorded exception error (a dict) as an instance of its class combined with base,
    or None when its class cannot be resolved or the exception cannot be made."""
    from . import values

    if not isinstance(error, dict):
        return None
    cls = values.resolve(error.get("class"), _durable_class)
    if cls is None:
        return None
    combined = _combine(cls, base)
    if combined is None:
        return None
    message = error.get("message")
    try:
        args = tuple(values.decode(error["args"])) if isinstance(error.get("args"), list) \
            else None
        attrs = values.decode(error["attrs"]) if isinstance(error.get("attrs"), dict) else {}
    except InvalidValue:
        args, attrs = None, {}
    real = None
    if args is not None:
        try:
            real = cls(*args)
        except Exception:  # noqa: BLE001 - an __init__ that wants other arguments
            real = None
    if args is None:
        args = () if message is None else (message,)
    try:
        exc = combined.__new__(combined, *(real.args if real is not None else args))
        exc.args = real.args if real is not None else args
        if real is not None:
            exc.__dict__.update(real.__dict__)
        exc.__dict__.update(attrs)
    except Exception:  # noqa: BLE001 - a class Python will not make this way
        return None
    added = [k for k, v in attached.items() if k not in exc.__dict__ and not hasattr(cls, k)]
    for key in added:
        setattr(exc, key, attached[key])
    trace = error.get("traceback")
    exc.durable_traceback = trace if isinstance(trace, str) else None
    setattr(exc, _ATTACHED, (*added, "durable_traceback"))
    if isinstance(trace, str) and trace:
        note = f"{where} (recorded traceback):\n{trace.rstrip()}"
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        else:  # Python 3.10
            exc.__notes__ = [*getattr(exc, "__notes__", []), note]
    return exc  # type: ignore[no-any-return]


def step_error(step: str, error: Any) -> Exception:
    """The exception a step's recorded failure raises in its workflow: the step's own exception
    class (registered, or an importable Exception subclass) combined with StepFailed, carrying
    .step (the step's name), .error (the recorded error) unless the exception has attributes of
    those names, and .durable_traceback (the recorded traceback text, also in __notes__); else a
    plain StepFailed(step, error)."""
    exc = _raised_again(error, StepFailed, {"step": step, "error": error},
                        f"raised by step {step}")
    return exc if exc is not None else StepFailed(step, error)  # type: ignore[return-value]


def workflow_error(workflow_id: str, error: Any) -> Exception:
    """The exception WorkflowHandle.result() raises for a failed workflow: as step_error, with
    WorkflowFailed and .workflow_id, .error; else a plain WorkflowFailed(workflow_id, error)."""
    exc = _raised_again(error, WorkflowFailed, {"workflow_id": workflow_id, "error": error},
                        f"raised by workflow {workflow_id}")
    return exc if exc is not None else WorkflowFailed(workflow_id, error)  # type: ignore[return-value]
