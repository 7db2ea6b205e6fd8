"""Running one claimed workflow: replaying recorded steps, recording new ones, finishing.

Round trips per run: a recorded step costs none (its outcome came with the claim), a new step
one durable.checkpoint (a transactional step: BEGIN, its own statements, checkpoint, COMMIT), a
failed try one durable.step_failed, and the end one durable.complete_and_claim (which also
claims the slot's next workflow) or durable.fail. Every decision (retry or not, after what
delay, whether the lease still holds) is the SQL's answer.

A step's checkpoint is held back until the run's next statement: the next step's start sends it
(durable.checkpoint, before that step runs), and when the workflow returns, the completion
records it (durable.complete_and_claim). Nothing outside the process happens in between (only
the workflow's own code, which a replay runs again anyway), so a crash loses no more than it
would have: that step runs again. The value the workflow sees is the output as it comes back
from jsonb (durable.execution.as_jsonb), the same as a replay will see.
"""

from __future__ import annotations

import contextvars
import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import psycopg

from . import db
from .errors import Cancelled, DurableError, LeaseLost, StepFailed, Stopped

if TYPE_CHECKING:
    from .app import Durable, StepDef

_TRACEBACK_LIMIT = 4000
_MESSAGE_LIMIT = 2000


@dataclass(frozen=True)
class StepInfo:
    """What a running step knows about itself."""

    workflow_id: str
    step_id: int
    name: str
    attempt: int
    try_number: int

    @property
    def idempotency_key(self) -> str:
        """Stable across re-executions of this step: pass it to outside services."""
        return f"{self.workflow_id}:{self.step_id}"


_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar("durable_run", default=None)
_step: contextvars.ContextVar[StepInfo | None] = contextvars.ContextVar("durable_step", default=None)


def current_run() -> Run | None:
    """The run executing in this thread, if any."""
    return _run.get()


def step_info() -> StepInfo:
    """The StepInfo of the step running in this thread; RuntimeError outside a step."""
    info = _step.get()
    if info is None:
        raise RuntimeError("not inside a durable step")
    return info


def idempotency_key() -> str:
    """The running step's idempotency key, f"{workflow_id}:{step_id}", the same on every retry."""
    return step_info().idempotency_key


def should_stop() -> bool:
    """True when the running workflow must stop (lease lost, cancelled, worker stopping): long
    steps may poll it and return early."""
    run = _run.get()
    return run is not None and run.interrupted.is_set()


def error_json(exc: BaseException) -> dict[str, Any]:
    """An exception as the JSON the SQL records: type, message, traceback (truncated)."""
    cls = type(exc)
    kind = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    if isinstance(exc, StepFailed) and isinstance(exc.error, dict):
        return {"type": kind, "message": str(exc)[:_MESSAGE_LIMIT], "step": exc.step,
                "cause": exc.error}
    text = "".join(traceback.format_exception(cls, exc, exc.__traceback__))
    return {"type": kind, "message": str(exc)[:_MESSAGE_LIMIT],
            "traceback": text[-_TRACEBACK_LIMIT:]}


def args_of(value: Any) -> list[Any]:
    """A workflow input as positional arguments: an array is the list of arguments, null is
    none, any other JSON value is the one argument."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_jsonb(value: Any) -> tuple[str, Any]:
    """(JSON text of value, value as jsonb will give it back): object keys in jsonb's order
    (shorter first, then by their bytes), and integral floats that JSON writes with an exponent
    (1e+16 and up) as the integers jsonb prints. Raises TypeError or ValueError when value is
    not JSON (NaN and infinities included)."""
    text = json.dumps(value, allow_nan=False)
    if value is None or type(value) in (bool, int, str):
        return text, value
    return text, _jsonb_order(json.loads(text))


def _jsonb_order(value: Any) -> Any:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb_order(v) for v in value]
    if isinstance(value, float) and value.is_integer() and "e" in repr(value):
        return int(Decimal(repr(value)))  # the decimal JSON wrote, as jsonb reads it
    return value


class _AlreadyRecorded(Exception):
    def __init__(self, outcome: db.StepOutcome):
        self.outcome = outcome


class NonRetryable(Exception):
    """Raise it (or a subclass) from a workflow to fail it without the SQL's retries."""


class Run:
    """One claimed workflow being executed on one connection by one thread."""

    def __init__(self, app: Durable, claimed: db.Claimed):
        self.app = app
        self.claimed = claimed
        self.workflow_id = claimed.workflow_id
        self.lease = claimed.lease
        self.recorded = {s["step_id"]: s for s in claimed.steps}
        self.next_step = 0
        self.interrupted = threading.Event()
        self.reason: str | None = None
        self.conn: psycopg.Connection | None = None
        self.replayed = 0
        self.executed = 0
        self.finishing = False  # complete or fail under way: their own answer is authoritative
        self.held: db.HeldStep | None = None  # a step whose checkpoint is not sent yet
        # set by the worker: reserves a slot for the workflow to claim with the completion and
        # returns (worker, queues, lease_timeout), or None to claim nothing
        self.claim_next: Callable[[], tuple[str, list[str], float | None] | None] | None = None
        self.next_claimed: list[db.Claimed] = []
        self.reserved = False  # claim_next reserved a slot (the worker gives it back)
        self.claim_answered = False  # the completion that claimed for the slot was answered

    def interrupt(self, reason: str) -> None:
        """Ask the run to stop at its next step boundary (and cut short a retry wait)."""
        if self.reason is None:
            self.reason = reason
        self.interrupted.set()

    def _check(self) -> None:
        if self.interrupted.is_set():
            raise Stopped(f"workflow {self.workflow_id}: {self.reason}")

    def execute(self, conn: psycopg.Connection) -> str:
        """Run the workflow to its end on conn; returns how it ended: succeeded, pending (a
        retry is scheduled), failed, or stopped (lease lost, cancelled, interrupted)."""
        self.conn = conn
        claimed = self.claimed
        definition = self.app.workflows.get(claimed.name)
        token = _run.set(self)
        try:
            if definition is None:
                raise LookupError(f"no workflow named {claimed.name!r} is registered in this worker")
            self._check()
            output = definition.fn(*args_of(claimed.input))
        except (Stopped, LeaseLost, Cancelled) as exc:
            self.interrupt(str(exc))
            return "stopped"
        except psycopg.OperationalError as exc:
            if conn.broken or conn.closed:
                raise
            return self._fail(exc, True)
        except Exception as exc:  # noqa: BLE001 - the workflow's own error is its outcome
            return self._fail(exc, not isinstance(exc, NonRetryable))
        finally:
            _run.reset(token)
        self.finishing = True
        request = self.claim_next() if self.claim_next is not None else None
        if request is not None:
            self.reserved = True
        worker, queues, lease_timeout = request if request is not None else (None, [], None)
        try:
            status, self.next_claimed = db.complete_and_claim(
                conn, self.workflow_id, self.lease, output, worker, queues,
                1 if request is not None else 0, lease_timeout, self.held)
            self.held = None
            self.claim_answered = request is not None
            return status
        except (LeaseLost, Cancelled) as exc:
            self.interrupt(str(exc))
            return "stopped"
        except psycopg.OperationalError:
            raise
        except (DurableError, TypeError, ValueError, psycopg.Error) as exc:
            # the output (or the held step's) was refused (too large: DU008, not JSON, not
            # storable in jsonb): that is the failure
            return self._fail(exc, True)

    def flush(self) -> None:
        """Send the held-back checkpoint, if any (before the next step, or the end of the run)."""
        held, self.held = self.held, None
        if held is not None:
            db.checkpoint(self.conn, self.workflow_id, self.lease, held.step_id, held.name,
                          db.raw_json(held.output_json), None, held.started_at)

    def _fail(self, exc: BaseException, retryable: bool) -> str:
        self.finishing = True
        try:
            try:
                self.flush()
            except (LeaseLost, Cancelled, psycopg.OperationalError):
                raise
            except (DurableError, psycopg.Error):
                pass  # that step's output was refused: it runs again in the retry
            status, _ = db.fail(self.conn, self.workflow_id, self.lease, error_json(exc), retryable)
            return status
        except (LeaseLost, Cancelled) as lost:
            self.interrupt(str(lost))
            return "stopped"

    # -- steps -----------------------------------------------------------------------------------

    def step(self, definition: StepDef, args: tuple, kwargs: dict) -> Any:
        """Run (or replay) the next step of the workflow and return its output."""
        step_id = self.next_step
        self.next_step += 1
        recorded = self.recorded.get(step_id)
        if recorded is not None and recorded["name"] == definition.name:
            self.replayed += 1
            return _outcome(definition.name, recorded["output"], recorded["error"])
        self.flush()
        self._check()
        conn = self.conn
        if recorded is not None:
            # Another step is recorded here: the SQL refuses this one (DU005) before it runs.
            done = db.checkpoint(conn, self.workflow_id, self.lease, step_id, definition.name)
            return _outcome(definition.name, done.output, done.error)
        self.executed += 1
        tries = 0
        while True:
            tries += 1
            info = StepInfo(self.workflow_id, step_id, definition.name, self.claimed.attempt, tries)
            started = datetime.now(timezone.utc)
            try:
                if definition.transactional:
                    done = self._transactional(definition, info, started, args, kwargs)
                    return _outcome(definition.name, done.output, done.error)
                value = _call(info, definition.fn, args, kwargs)
            except _StepRaised as raised:
                exc = raised.exc
            else:
                # the checkpoint goes with the run's next statement (see the module's doc)
                text, seen = as_jsonb(value)
                self.held = db.HeldStep(step_id, definition.name, text, started)
                return seen
            failure = db.step_failed(
                conn, self.workflow_id, self.lease, step_id, definition.name, error_json(exc),
                max_attempts=definition.max_attempts, backoff_base=definition.backoff_base,
                backoff_max=definition.backoff_max, started_at=started,
            )
            if not failure.retry:
                return _outcome(definition.name, failure.output, failure.error)
            self.interrupted.wait(failure.retry_in.total_seconds())
            self._check()

    def _transactional(self, definition: StepDef, info: StepInfo, started: datetime,
                       args: tuple, kwargs: dict) -> db.StepOutcome:
        conn = self.conn
        try:
            with conn.transaction():
                value = _call(info, definition.fn, (conn, *args), kwargs)
                done = db.checkpoint(conn, self.workflow_id, self.lease, info.step_id,
                                     definition.name, value, None, started)
                if not done.recorded:
                    # recorded before (by an execution whose reply was lost): undo our writes
                    raise _AlreadyRecorded(done)
            return done
        except _AlreadyRecorded as already:
            return already.outcome


class _StepRaised(Exception):
    def __init__(self, exc: BaseException):
        self.exc = exc


def _call(info: StepInfo, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """Call a step's function with its StepInfo current; its own exceptions come out wrapped in
    _StepRaised, the ones that must stop the run (and a broken connection) as they are."""
    token = _step.set(info)
    try:
        return fn(*args, **kwargs)
    except (Stopped, LeaseLost, Cancelled):
        raise
    except psycopg.OperationalError as exc:
        run = _run.get()
        if run is not None and run.conn is not None and (run.conn.broken or run.conn.closed):
            raise
        raise _StepRaised(exc) from exc
    except Exception as exc:
        raise _StepRaised(exc) from exc
    finally:
        _step.reset(token)


def _outcome(name: str, output: Any, error: Any) -> Any:
    if error is not None:
        raise StepFailed(name, error)
    return output

