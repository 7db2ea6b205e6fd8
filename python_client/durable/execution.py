"""Running one claimed workflow: replaying recorded steps, recording new ones, finishing.

Waits per run (a wait: the run stops until the server's answer is in): a recorded step costs
none (its outcome came with the claim), a new step one (its durable.checkpoint; a transactional
step: BEGIN, its own statements, checkpoint, COMMIT), a failed try one durable.step_failed, and
the end one durable.complete_and_claim (which also claims the slot's next workflow) or
durable.fail. Every decision (retry or not, after what delay, whether the lease still holds) is
the SQL's answer.

A step's checkpoint is sent the moment the step returns, in pipeline mode with its own Sync, so
that it commits whatever the process does next (a SIGKILL included), and the run does not wait
for its answer: the run's next statement reads it (at the next step's start, before that step
runs), or, when the workflow returns, durable.complete_and_claim goes right behind it and one
wait reads both (complete_and_claim names the step as well, so that it writes nothing when the
step's checkpoint was refused). The value the workflow sees is the output as it comes back from
jsonb (durable.execution.as_jsonb), the same as a replay will see.

A connection lost under a run (pg_terminate_backend, a pooler's restart, a failover) does not
end the run: a connection known or cheaply found dead (closed, broken, its idle socket
readable) is replaced before a statement is sent, and a statement whose answer was lost is sent
again on a new connection under the same lease, which fencing makes safe: the SQL answers a
checkpoint sent again "already recorded", and a finish sent again DU001 when the first one had
committed (durable.result then says so). Only DU001 and DU002 end the run; a run whose
connection cannot be remade within a few tries is dropped (its lease expires, and it resumes
from its last checkpoint).

What the SQL refuses belongs to the step or run that produced it. A step's output that is not
storable JSON, or that the SQL refuses (too large: DU008, too deep: DU011, a value Postgres
cannot hold), is that step's failed try, under its retry policy; when the refusal comes late,
with the held-back checkpoint at the next step's call, the workflow's code is run again from
its start in the same attempt (the steps recorded so far replay without a round trip), so that
the step's retry or its error happens at its own call site. An error the SQL refuses to record
is recorded shortened. Once the SQL has said the run is cancelled or its lease lost, every step
call of the run raises Stopped (a BaseException), whatever the code caught before, and the run
is not completed. A step called from another thread than its workflow's is refused
(WrongThread) and fails the run: it would run without its checkpoint.

Waits (durable sleep, recv, events, child workflows; see durable.waiting) and the steps the SQL
records itself (send, set_event, start_child) are steps at the next position too, each one call
of its SQL function (Run.call), made after the held-back checkpoint's answer is read. A wait
the SQL answers parked = true has made the run `waiting` and released its lease: the run
unwinds with Parked (a BaseException, sticky like Stopped), is neither completed nor failed,
and its slot is free; the run is claimed again when the wait can end, replays its recorded
steps, calls the wait again and gets its outcome.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import logging
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import psycopg

from . import db, otel, values
from .errors import (
    BadArgument,
    Cancelled,
    DurableError,
    InvalidValue,
    LeaseLost,
    Nondeterminism,
    Parked,
    PayloadTooLarge,
    StepFailed,
    Stopped,
    WrongThread,
    original_class,
    step_error,
)

if TYPE_CHECKING:
    from .app import Durable, StepDef

log = logging.getLogger("durable.execution")
_T = TypeVar("_T")

_TRACEBACK_LIMIT = 4000
_MESSAGE_LIMIT = 2000
_SHORT_MESSAGE_LIMIT = 300

# the SQL's refusals of a value (an output, an error): the step or run that made it is at fault
_REFUSED = (PayloadTooLarge, BadArgument, InvalidValue)
# a statement whose connection was lost is sent again on a new connection this many times at most
_RESENDS = 3
# answers to a pipelined statement that mean: send it again the ordinary way (a lock timeout or
# a deadlock, retried there; its prepared statement dropped by a step's DISCARD ALL)
_SEND_AGAIN = (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected,
               psycopg.errors.InvalidSqlStatementName)


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
    steps may poll it and return early. A step that saw True is not recorded, whatever it
    returns: its value is not its real outcome, and the step runs again when the workflow
    resumes (on SIGTERM's grace period the lease is still valid, so the early value would
    otherwise be checkpointed and replayed)."""
    run = _run.get()
    if run is not None and run.interrupted.is_set():
        run.stop_seen = True
        return True
    return False


def _kind(exc: BaseException) -> str:
    cls = original_class(exc)
    kind = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return db.storable_text(kind)


def _message(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails is still recorded
        text = f"<{type(exc).__name__} whose str() failed>"
    return db.storable_text(text)


def _raising_again(exc: BaseException) -> dict[str, Any]:
    """What error_json records to raise exc again: its class's name (durable.values.class_name)
    and, when they encode as values, its args and its own attributes (those durable attached to
    an exception it raised again are left out; an attribute that does not encode is left out)."""
    cls = original_class(exc)
    what: dict[str, Any] = {"class": db.storable_text(values.class_name(cls))}
    if issubclass(cls, DurableError):
        return what  # durable's own errors are not raised again (StepFailed, WorkflowFailed)
    try:
        what["args"] = _storable(list(exc.args))
    except (InvalidValue, TypeError):
        pass
    own = getattr(exc, "__dict__", None) or {}
    skip = set(own.get("__durable_attached__", ()))
    attrs = {}
    for key, value in own.items():
        if key in skip or (key.startswith("__") and key.endswith("__")):
            continue
        try:
            attrs[key] = _storable(value)
        except InvalidValue:
            continue
    if attrs:
        what["attrs"] = attrs
    return what


def _storable(value: Any) -> Any:
    """value encoded (durable.values), when jsonb can store it (no NUL, no surrogate); else
    InvalidValue."""
    data = values.encode(value)
    db.json_text(data, "the value")
    return data


def error_json(exc: BaseException) -> dict[str, Any]:
    """An exception as the JSON the SQL records: type, message, traceback (truncated); NUL
    characters and surrogates, which jsonb cannot hold, are written out as \\uXXXX text; plus
    class, args and attrs, to raise it again (see durable.errors.step_error). A StepFailed (or a
    step's exception raised again) records the step's name and its recorded error as cause
    instead of a traceback."""
    kind = _kind(exc)
    if isinstance(exc, StepFailed) and isinstance(exc.error, dict):
        return {"type": kind, "message": _message(exc)[:_MESSAGE_LIMIT], "step": exc.step,
                "cause": exc.error, **_raising_again(exc)}
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:  # noqa: BLE001 - as in _message
        text = ""
    return {"type": kind, "message": _message(exc)[:_MESSAGE_LIMIT],
            "traceback": db.storable_text(text[-_TRACEBACK_LIMIT:]), **_raising_again(exc)}


def short_errors(exc: BaseException, refused: BaseException) -> list[dict[str, Any]]:
    """Smaller forms of error_json(exc) to record when the SQL refused it (too large): the type
    and the start of the message, then a fixed text."""
    why = _message(refused)[:_SHORT_MESSAGE_LIMIT]
    name = db.storable_text(values.class_name(original_class(exc)))
    return [
        {"type": _kind(exc), "message": _message(exc)[:_SHORT_MESSAGE_LIMIT],
         "class": name[:_SHORT_MESSAGE_LIMIT],
         "note": f"shortened: the full error was refused ({why})"},
        {"type": _kind(exc)[:100], "message": "(not recorded: the error was refused)"},
    ]


ARGS_KEY = values.ARGS
KWARGS_KEY = values.KWARGS


def input_of(args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """The stored input (JSON) of a run given args and kwargs, each encoded as a value
    (durable.values.encode_input): the array of the positional arguments when there are no
    keyword arguments (as psql and other languages write it), else {"$args": [...],
    "$kwargs": {...}}. args_of reads both back, without decoding; a run's code gets them from
    durable.values.decode_input. InvalidValue naming the argument that cannot be stored."""
    return values.encode_input(args, dict(kwargs))


def args_of(value: Any) -> tuple[list[Any], dict[str, Any]]:
    """A workflow input as (positional arguments, keyword arguments), as stored (not decoded:
    durable.values.decode_input decodes them): an object with exactly the keys "$args" (an
    array) and "$kwargs" (an object) is both; otherwise the input is positional only: an array
    is the list of arguments, null none, any other JSON value the one argument. Raises TypeError for an object with exactly those two keys whose "$args" is not an
    array or whose "$kwargs" is not an object."""
    if value is None:
        return [], {}
    if isinstance(value, list):
        return value, {}
    if isinstance(value, dict) and value.keys() == {ARGS_KEY, KWARGS_KEY}:
        args, kwargs = value[ARGS_KEY], value[KWARGS_KEY]
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TypeError('the input {"$args": ..., "$kwargs": ...} needs an array for "$args" '
                            f'and an object for "$kwargs", not {type(args).__name__} and '
                            f'{type(kwargs).__name__}')
        return args, kwargs
    return [value], {}


def encoded(value: Any, what: str = "the value") -> tuple[str, Any, Any]:
    """(JSON text of value encoded as durable.values stores it, that JSON parsed, the value as
    a replay decodes it from jsonb: durable.values.decode_jsonb). Raises InvalidValue (a
    ValueError) naming what and where when value cannot be stored (NaN, infinities, an object
    of no supported type) or holds what jsonb cannot (NUL)."""
    data = values.encode(value, what)
    text = db.json_text(data, what)
    if data is None or type(data) in (bool, int, str):
        return text, data, data
    raw = json.loads(text)
    return text, raw, values.decode_jsonb(raw, what)


def as_jsonb(value: Any, what: str = "the value") -> tuple[str, Any]:
    """(JSON text of value, value as jsonb will give it back and a replay decodes it): see
    encoded."""
    text, _, seen = encoded(value, what)
    return text, seen


def _as_jsonb_gives(value: Any) -> Any:
    """Parsed JSON as jsonb gives it back: integral floats that JSON writes with an exponent
    (1e+16 and up) as the integers jsonb prints (key order does not matter to ==)."""
    if isinstance(value, dict):
        return {k: _as_jsonb_gives(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_jsonb_gives(v) for v in value]
    if isinstance(value, float) and value.is_integer() and "e" in repr(value):
        return int(Decimal(repr(value)))  # the decimal JSON wrote, as jsonb reads it
    return value


class _AlreadyRecorded(Exception):
    def __init__(self, outcome: db.StepOutcome):
        self.outcome = outcome


class _Replay(BaseException):
    """Internal: an outcome changed after the workflow's code went past it (a held-back
    checkpoint was refused): run the code again from its start, in the same attempt."""


class NonRetryable(Exception):
    """Raise it (or a subclass) from a workflow to fail it without the SQL's retries."""


@dataclass(frozen=True)
class _Held:
    """A step whose checkpoint was sent and whose answer the run's next statement reads, with
    what it needs if the SQL refused it: its definition (retry policy) and the value the
    workflow saw."""

    step: db.HeldStep
    definition: StepDef
    seen: Any
    raw: Any = None  # the output as stored (JSON parsed), kept as the recorded output


_thread_start = threading.Thread.start


def _start_noting_origin(self: threading.Thread) -> None:
    """threading.Thread.start, noting on the thread the run whose workflow code starts it."""
    run = _run.get()
    if run is not None and _step.get() is None:
        self._durable_origin = run  # type: ignore[attr-defined]
    _thread_start(self)


def note_thread_origins() -> None:
    """Wrap threading.Thread.start (once per process) so that a thread started by workflow code
    knows its run: a step called in it is then refused instead of running as a plain call,
    without its checkpoint (a thread pool's threads start at its first submit)."""
    if threading.Thread.start is not _start_noting_origin:
        threading.Thread.start = _start_noting_origin  # type: ignore[method-assign]


def run_of_call() -> Run | None:
    """The run a step called here belongs to: the thread's run, or the run whose workflow code
    started this thread; None inside a step (a step called by a step is a plain call) and
    outside any run."""
    if _step.get() is not None:
        return None
    run = _run.get()
    if run is not None:
        return run
    return getattr(threading.current_thread(), "_durable_origin", None)


class Run:
    """One claimed workflow being executed on one connection by one thread."""

    def __init__(self, app: Durable, claimed: db.Claimed):
        self.app = app
        self.claimed = claimed
        self.workflow_id = claimed.workflow_id
        self.lease = claimed.lease
        steps = claimed.steps if isinstance(claimed.steps, list) else []
        self.recorded = {s["step_id"]: s for s in steps}
        self.next_step = 0
        self.interrupted = threading.Event()
        self.stop_seen = False  # a step's code saw should_stop() return True
        self.reason: str | None = None
        # set by the worker before the run starts (typed as set: every use comes after that)
        self.conn: psycopg.Connection = None  # type: ignore[assignment]
        self.thread_id: int | None = None
        self.replayed = 0
        self.executed = 0
        self.finishing = False  # complete or fail under way: their own answer is authoritative
        self.inflight: _Held | None = None  # a step whose checkpoint is sent, its answer unread
        self.tries: dict[int, int] = {}  # tries made in this attempt by steps not yet recorded
        self.stop_raised = False  # Stopped was raised into the workflow's code
        self.parked = False  # a wait parked the run: it is waiting, its lease released
        self.fatal: BaseException | None = None  # raised again at every step call; fails the run
        self.replay_pending = False  # _Replay raised and not yet acted on
        # set by the worker: reserves a slot for the workflow to claim with the completion and
        # returns (worker, queues, lease_timeout), or None to claim nothing
        self.claim_next: Callable[[], tuple[str, list[str], float | None] | None] | None = None
        self.next_claimed: list[db.Claimed] = []
        self.reserved = False  # claim_next reserved a slot (the worker gives it back)
        self.claim_answered = False  # the completion that claimed for the slot was answered
        self._request: tuple[str, list[str], float | None] | None = None
        # set by the worker: a new connection for the run when its own was lost (None: none)
        self.reconnect: Callable[[], psycopg.Connection | None] | None = None
        self.reconnects = 0  # connections replaced under this run
        # set by the worker when its slots share a pool (Worker(connections=N)): the run takes
        # a connection for its statements and gives it back (give_back) while its code runs;
        # reconnect then also gives the lost one back first
        self.give_back: Callable[[psycopg.Connection], None] | None = None
        self.resent = False  # an answer was lost and its call sent again (see _complete, _fail)
        self.failure: str | None = None  # "type: message" of the error the run failed with

    def interrupt(self, reason: str) -> None:
        """Ask the run to stop at its next step boundary (and cut short a retry wait)."""
        if self.reason is None:
            self.reason = reason
        self.interrupted.set()

    def _check(self) -> None:
        """Raise what the run must do instead of going on: unwind (parked), stop, fail, or
        replay."""
        if self.parked:
            raise Parked(f"workflow {self.workflow_id} is waiting")
        if self.interrupted.is_set():
            self.stop_raised = True
            raise Stopped(f"workflow {self.workflow_id}: {self.reason}")
        if self.fatal is not None:
            raise self.fatal
        if self.replay_pending:
            raise _Replay

    def _stop(self, exc: BaseException) -> None:
        """The SQL said the lease is lost or the run cancelled: stop, now and at every later
        step call."""
        self.interrupt(str(exc))
        self.stop_raised = True
        raise Stopped(f"workflow {self.workflow_id}: {exc}") from exc

    def _replay(self) -> None:
        self.replay_pending = True
        raise _Replay

    # -- the run ---------------------------------------------------------------------------------

    def execute(self, conn: psycopg.Connection | None) -> str:
        """Run the workflow to its end on conn (None: on connections of the worker's shared
        pool, taken with reconnect, see give_back); returns how it ended: succeeded, pending (a
        retry is scheduled), failed, waiting (a wait parked it: its lease is released), or
        stopped (lease lost, cancelled, interrupted)."""
        self.conn = conn  # type: ignore[assignment]  # None: taken from the pool at first use
        self.thread_id = threading.get_ident()
        note_thread_origins()
        claimed = self.claimed
        for what, value in (("input", claimed.input), ("steps", claimed.steps)):
            if isinstance(value, db.Undecodable):
                # it would not decode on any retry either
                return self._fail(InvalidValue(
                    f"workflow {self.workflow_id}: its {what} is JSON nested too deep for "
                    f"Python to decode ({value.reason})"), False)
        token = _run.set(self)
        try:
            while True:
                try:
                    return self._attempt()
                except _Replay:
                    self.finishing = False
        finally:
            _run.reset(token)
            self._drain()
            self._idle(force=True)

    def _drain(self) -> None:
        """The run is over with a checkpoint still unanswered (it stopped, or gave up on its
        connection): read the answer, so that the connection is ready for the next run."""
        held, self.inflight = self.inflight, None
        if held is None or self.conn is None or self.conn.closed:
            return
        try:
            answer = db.receive(self.conn)[0]
        except Exception as exc:  # noqa: BLE001 - the connection is closed: the slot remakes it
            log.warning("%s: the answer to step %d's checkpoint was lost (%s)", self.workflow_id,
                        held.step.step_id, exc)
            return
        if isinstance(answer, BaseException):
            log.info("%s: step %d's checkpoint was refused after the run stopped (%s)",
                     self.workflow_id, held.step.step_id, answer)

    def _attempt(self) -> str:
        """Run the workflow's code once, from its start, and finish the run as it ended; raises
        _Replay when an outcome changed under the code."""
        self.next_step = 0
        self.replay_pending = False
        definition = self.app.workflows.get(self.claimed.name)
        error: BaseException | None = None
        retryable = True
        try:
            if definition is None:
                raise LookupError(f"no workflow named {self.claimed.name!r} is registered in "
                                  "this worker")
            self._check()
            args, kwargs = values.decode_input(self.claimed.input)
            output = definition.fn(*args, **kwargs)
        except _Replay:
            self.replay_pending = True
        except Parked:
            pass  # self.parked is set
        except Stopped:
            self.stop_raised = True
        except psycopg.OperationalError as exc:
            if self.conn is None or self.conn.broken or self.conn.closed:
                raise
            error = exc
        except BaseException as exc:  # noqa: BLE001 - the workflow's own error is its outcome
            error, retryable = exc, not isinstance(exc, NonRetryable)
        # what the code did after a wait parked the run, after the SQL stopped it, or after a
        # step's outcome changed under it, does not count, whatever it caught
        if self.parked:
            return "waiting"
        if self.stop_raised:
            return "stopped"
        if self.replay_pending:
            raise _Replay
        if self.fatal is not None:
            # nondeterminism is not transient: another attempt would replay the same steps and
            # meet it again (runs are pinned to their code version, so it means code changed
            # without the version changing, or code that is not deterministic)
            error, retryable = self.fatal, not isinstance(self.fatal, Nondeterminism)
        text = None
        if error is None:
            try:
                text = db.json_text(values.encode(output, "the workflow's output"),
                                    "the workflow's output")
            except InvalidValue as exc:
                error = exc
        if error is not None:
            try:
                self._collect()  # the sent step first: its refusal is its own, not the run's
            except Stopped:
                return "stopped"
            except psycopg.OperationalError:
                raise
            except (DurableError, psycopg.Error):
                pass  # that step's failure could not be recorded: it runs again in the retry
            return self._fail(error, retryable)
        return self._complete(text)  # type: ignore[arg-type]  # set when error is None

    def _complete(self, text: str) -> str:
        self.finishing = True
        if self._request is None and not self.reserved and self.claim_next is not None:
            self._request = self.claim_next()
            self.reserved = self._request is not None
        worker, queues, lease_timeout = self._request or (None, [], None)
        held, self.inflight = self.inflight, None
        args = (self.workflow_id, self.lease, text, worker, queues,
                1 if self._request is not None else 0, lease_timeout,
                None if held is None else held.step)
        step_answer, answer = self._complete_and_claim(held, args)
        if isinstance(answer, _SEND_AGAIN):
            answer = self._answer(db.complete_and_claim, *args[:2], db.raw_json(text), *args[3:])
        if isinstance(answer, psycopg.OperationalError):
            raise answer
        if not isinstance(answer, BaseException):
            status, self.next_claimed = answer
            self.claim_answered = self._request is not None
            return status  # type: ignore[no-any-return]
        if isinstance(answer, (LeaseLost, Cancelled)):
            if isinstance(answer, LeaseLost) and self.resent and self._status_now() == "succeeded":
                return "succeeded"  # the first completion committed; its answer was lost
            self.interrupt(str(answer))
            return "stopped"
        # refused: the sent step's output (its failure: _Replay) or the workflow's output
        refused: BaseException = answer
        try:
            if held is not None:
                if step_answer is None or isinstance(step_answer, _SEND_AGAIN):
                    step_answer = self._answer(*self._checkpoint_call(held))  # ask again
                self._settle(held, step_answer)
            self.resent = False
            self._sql(db.complete, self.workflow_id, self.lease, db.raw_json(text))
            return "succeeded"
        except Stopped:
            if self.resent and self._status_now() == "succeeded":
                return "succeeded"  # the first completion committed; its answer was lost
            return "stopped"
        except psycopg.OperationalError:
            raise
        except (DurableError, psycopg.Error) as exc:
            refused = exc
        return self._fail(refused, True)

    def _complete_and_claim(self, held: _Held | None, args: tuple[Any, ...]) -> tuple[Any, Any]:
        """Send durable.complete_and_claim right behind the sent checkpoint, if any, and read
        both answers in one wait: (the checkpoint's answer or None, complete_and_claim's); an
        answer is a result or the exception of a refusal. When the connection is lost, a new one
        is made and complete_and_claim alone is sent again (it records the step itself); the
        checkpoint's answer is then unknown (None)."""
        self.resent = False
        conn = self.conn if held is not None else self._live()
        try:
            db.send_complete_and_claim(conn, *args)
            answers = db.receive(conn)
        except psycopg.OperationalError as exc:
            self._recover(conn, exc, _RESENDS - 1)
            log.warning("%s: connection lost before its completion was answered (%s): sending "
                        "it again on a new connection", self.workflow_id, exc)
            self.resent = True
            return None, self._answer(db.complete_and_claim, *args[:2], db.raw_json(args[2]),
                                      *args[3:])
        return (None, answers[0]) if held is None else (answers[0], answers[1])

    def _status_now(self) -> str | None:
        """The workflow's status now (durable.result), None when it cannot be read: after a
        finish sent again was answered DU001, it says whether the first one had committed."""
        try:
            return self._call_sql(db.result, self.workflow_id).status
        except (DurableError, psycopg.Error) as exc:
            log.warning("%s: cannot read its status (%s)", self.workflow_id, exc)
            return None

    def _checkpoint_call(self, held: _Held) -> tuple[Any, ...]:
        """The durable.checkpoint call of a sent step, to send it again."""
        step = held.step
        return (db.checkpoint, self.workflow_id, self.lease, step.step_id, step.name,
                db.raw_json(step.output_json), None, step.started_at)

    def _send(self, held: _Held) -> None:
        """Send a step's checkpoint now, without waiting for its answer (see the module's doc),
        on a live connection."""
        for resend in range(_RESENDS + 1):
            conn = self._live()
            try:
                db.send_checkpoint(conn, self.workflow_id, self.lease, held.step)
                self.inflight = held
                return
            except psycopg.OperationalError as exc:
                self._recover(conn, exc, resend)

    def _collect(self) -> None:
        """Read the answer to the sent checkpoint, if any (before the next step, or the end of
        the run); a refusal is that step's failed try, and the code runs again (_Replay)."""
        held, self.inflight = self.inflight, None
        if held is None:
            return
        try:
            answer = db.receive(self.conn)[0]
        except psycopg.OperationalError as exc:
            self._recover(self.conn, exc, _RESENDS - 1)
            log.warning("%s: connection lost before step %d's checkpoint was answered (%s): "
                        "sending it again on a new connection", self.workflow_id,
                        held.step.step_id, exc)
            answer = self._answer(*self._checkpoint_call(held))
        if isinstance(answer, _SEND_AGAIN):
            answer = self._answer(*self._checkpoint_call(held))  # with durable.db's lock retries
        self._settle(held, answer)

    def _settle(self, held: _Held, answer: Any) -> None:
        """Act on the answer to a sent checkpoint: recorded (now, or before: the outcome that
        counts is kept, and the code runs again when it is not the one it saw), the run stopped
        (DU001, DU002), or refused: that step's failed try, at its own call site (_Replay)."""
        step = held.step
        if isinstance(answer, (LeaseLost, Cancelled)):
            self._stop(answer)
        if isinstance(answer, psycopg.OperationalError):
            raise answer
        if isinstance(answer, BaseException):
            # the SQL refused the step's outcome: that step's failed try, at its own call site
            failure = self._step_failed(step.step_id, held.definition, answer, step.started_at)
            if failure is not None:
                self.interrupted.wait(failure.retry_in.total_seconds())  # type: ignore[union-attr]
            self._replay()
        if answer.recorded:
            self.recorded[step.step_id] = {"step_id": step.step_id, "name": step.name,
                                           "output": held.raw, "error": None}
        else:
            # recorded before this call (by this lease's own call whose answer was lost, or by
            # another execution): that outcome counts; run the code again if it differs
            self.recorded[step.step_id] = {"step_id": step.step_id, "name": step.name,
                                           "output": answer.output, "error": answer.error}
            if answer.error is not None or answer.output != _as_jsonb_gives(
                    json.loads(step.output_json)):
                self._replay()

    def _fail(self, exc: BaseException, retryable: bool) -> str:
        self.finishing = True
        self.resent = False
        error = error_json(exc)
        self.failure = f"{error['type']}: {error['message'][:_SHORT_MESSAGE_LIMIT]}"
        shorter: list[dict[str, Any]] | None = None
        while True:
            try:
                status, _ = self._call_sql(db.fail, self.workflow_id, self.lease, error,
                                           retryable)
                return status
            except (LeaseLost, Cancelled) as lost:
                if isinstance(lost, LeaseLost) and self.resent:
                    now = self._status_now()
                    if now in ("pending", "failed"):
                        return now  # the first fail committed; its answer was lost
                self.interrupt(str(lost))
                return "stopped"
            except _REFUSED as refused:
                # the error itself was refused (too large): record it shortened
                if shorter is None:
                    shorter = short_errors(exc, refused)
                if not shorter:
                    raise
                error = shorter.pop(0)

    # -- connections -----------------------------------------------------------------------------

    def _live(self) -> psycopg.Connection:
        """The run's connection, replaced first when it is known or cheaply found to be dead
        (with a shared pool: taken from it when the run holds none)."""
        conn = self.conn
        if conn is None and self.give_back is not None:
            self._replace_conn(None)  # the pool's next free connection
            conn = self.conn
        if conn is None or not db.alive(conn):
            self._replace_conn("found dead before use")
        return self.conn

    def _idle(self, force: bool = False) -> None:
        """With a shared pool: give the run's connection back while its code runs (a step, a
        retry's pause), unless a checkpoint's answer is still to be read on it or it is in a
        transaction; the run's next statement takes one again (_live). force (the run is over):
        give it back whatever its state (the pool rolls back or drops it)."""
        conn = self.conn
        if self.give_back is None or conn is None:
            return
        if not force and (self.inflight is not None or (
                not conn.closed
                and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)):
            return
        self.conn = None  # type: ignore[assignment]  # taken again by _live
        self.give_back(conn)

    def _replace_conn(self, why: object | None) -> None:
        """Close the run's connection and take a new one from the worker; the lease is the same,
        and what the run sends on the new connection is fenced as before. OperationalError when
        none can be made (the old connection, closed, stays: the slot drops the run)."""
        old = self.conn
        if old is not None:
            old.close()
            if self.give_back is not None:
                self.conn = None  # type: ignore[assignment]
                self.give_back(old)  # the pool drops it and makes another
        new = self.reconnect() if self.reconnect is not None else None
        if new is None:
            raise psycopg.OperationalError(
                f"workflow {self.workflow_id}: connection lost ({why}) and no new one was made")
        if why is None:  # taken from the pool, not a replacement
            self.conn = new
            return
        log.info("%s: connection lost (%s): going on with a new connection", self.workflow_id,
                 why)
        self.conn = new
        self.reconnects += 1

    def _recover(self, conn: psycopg.Connection, exc: psycopg.OperationalError,
                 resends: int) -> None:
        """After exc from a call on conn that was sent resends times already: return with a new
        connection when the connection was lost and the call may be sent again; otherwise raise
        exc (a lost connection closed first, so that the run is seen to have lost it)."""
        if not db.lost(conn, exc):
            raise exc
        if resends >= _RESENDS:
            conn.close()
            raise exc
        self._replace_conn(exc)

    def _call_sql(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """fn(conn, *args, **kwargs) on a live connection of the run; when the connection is lost
        under the call, a new one is made and the call sent again (self.resent is set)."""
        for resend in range(_RESENDS + 1):
            conn = self._live()
            try:
                return fn(conn, *args, **kwargs)
            except psycopg.OperationalError as exc:
                self._recover(conn, exc, resend)
                log.warning("%s: connection lost under %s (%s): sent again on a new connection",
                            self.workflow_id, getattr(fn, "__name__", fn), exc)
                self.resent = True
        raise AssertionError("not reached")

    def _answer(self, fn: Callable[..., Any], *args: Any) -> Any:
        """_call_sql, with a refusal given back as its exception instead of raised (a lost
        connection that cannot be remade, or a lock timeout after its retries, is raised)."""
        try:
            return self._call_sql(fn, *args)
        except psycopg.OperationalError:
            raise
        except (DurableError, psycopg.Error) as exc:
            return exc

    def _sql(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """One of the worker's calls for this run (see _call_sql); the SQL saying the lease is
        lost or the run cancelled stops the run (Stopped, now and at every later step call)."""
        try:
            return self._call_sql(fn, *args, **kwargs)
        except (LeaseLost, Cancelled) as exc:
            self._stop(exc)
            raise  # not reached: _stop raises

    # -- steps -----------------------------------------------------------------------------------

    def step(self, definition: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run (or replay) the next step of the workflow and return its output."""
        if threading.get_ident() != self.thread_id:
            self._wrong_thread(definition.name)
        self._check()
        step_id = self.next_step
        self.next_step += 1
        recorded = self.recorded.get(step_id)
        if recorded is not None and recorded["name"] == definition.name:
            self.replayed += 1
            return _outcome(definition.name, recorded["output"], recorded["error"])
        self._collect()
        if recorded is not None:
            # Another step is recorded here: the SQL refuses this one (DU005) before it runs.
            try:
                done = self._sql(db.checkpoint, self.workflow_id, self.lease, step_id,
                                 definition.name)
            except Nondeterminism as exc:
                self.fatal = exc
                raise
            return _outcome(definition.name, done.output, done.error)
        self.executed += 1
        tries = self.tries.get(step_id, 0)
        lost = 0
        while True:
            tries += 1
            info = StepInfo(self.workflow_id, step_id, definition.name, self.claimed.attempt, tries)
            started = datetime.now(timezone.utc)
            try:
                if definition.transactional:
                    if inspect.iscoroutinefunction(definition.fn):
                        refused = TypeError(
                            f"step {definition.name} is an async def transactional step: it "
                            "takes an AsyncConnection and runs in async workflows only")
                        self.fatal = refused
                        raise refused
                    conn = self._live()
                    try:
                        done = self._transactional(definition, info, started, args, kwargs)
                    except psycopg.OperationalError as exc:
                        # the step's transaction died with its connection: nothing of it
                        # committed, or (its COMMIT's answer lost) its checkpoint says so when
                        # the try runs again, on a new connection
                        self._recover(conn, exc, lost)
                        lost += 1
                        tries -= 1
                        continue
                    self.recorded[step_id] = {"step_id": step_id, "name": definition.name,
                                              "output": done.output, "error": done.error}
                    return _outcome(definition.name, done.output, done.error)
                self._idle()  # a shared pool's connection is not held while the step runs
                value = _call(info, definition.fn, args, kwargs)
                if self.stop_seen:
                    # it returned early because it was told to stop: not its outcome
                    self._check()
                text, raw, seen = _output(definition.name, value)
            except _StepRaised as raised:
                step_error = raised.exc
            else:
                # the checkpoint goes now; its answer, with the run's next statement
                self._send(_Held(db.HeldStep(step_id, definition.name, text, started),
                                 definition, seen, raw))
                return seen
            failure = self._step_failed(step_id, definition, step_error, started)
            if failure is None:
                return _outcome(definition.name, *self._recorded_outcome(step_id))
            self._idle()
            self.interrupted.wait(failure.retry_in.total_seconds())  # type: ignore[union-attr]
            self._check()

    def call(self, name: str, fn: Callable[..., Any], *args: Any, parks: bool = False,
             **kwargs: Any) -> Any:
        """A step the SQL records itself, at the next position: replayed from the claim when
        recorded (no round trip), else one call fn(conn, workflow_id, lease, step_id, *args,
        name=name, **kwargs) of a durable.* function, after the held-back checkpoint's answer is
        read. With parks (a wait), fn answers (parked, output): parked means the run is now
        waiting, its lease released: Parked is raised, now and at every later call of the run.
        Returns the recorded output. The SQL's refusals come out as their exceptions (DU001 and
        DU002 as Stopped; DU005 also fails the run)."""
        if threading.get_ident() != self.thread_id:
            self._wrong_thread(name)
        self._check()
        step_id = self.next_step
        self.next_step += 1
        recorded = self.recorded.get(step_id)
        if recorded is not None and recorded["name"] == name:
            self.replayed += 1
            if recorded["error"] is not None:
                raise step_error(name, recorded["error"])
            return recorded["output"]  # as the SQL recorded it: the caller decodes its values
        self._collect()
        fn = otel.sql_step(StepInfo(self.workflow_id, step_id, name, self.claimed.attempt, 1),
                           fn, parks)
        try:
            answer = self._sql(fn, self.workflow_id, self.lease, step_id, *args, name=name,
                               **kwargs)
        except Nondeterminism as exc:
            self.fatal = exc
            raise
        if parks:
            parked, output = answer
            if parked:
                # the SQL made the run waiting and released its lease in that statement
                self.parked = True
                self.finishing = True  # the heartbeat no longer sees it: not a lost lease
                raise Parked(f"workflow {self.workflow_id} is waiting (step {step_id}, {name})")
        else:
            output = answer
        self.executed += 1
        self.recorded[step_id] = {"step_id": step_id, "name": name, "output": output,
                                  "error": None}
        return output

    def _recorded_outcome(self, step_id: int) -> tuple[Any, Any]:
        recorded = self.recorded[step_id]
        return recorded["output"], recorded["error"]

    def _step_failed(self, step_id: int, definition: StepDef, exc: BaseException,
                     started: datetime | None) -> db.StepFailure | None:
        """Report a failed try to durable.step_failed (shortened if the SQL refuses the error):
        returns its answer when the step is to be tried again (its tries are counted in
        self.tries), or None when its outcome is now recorded (in self.recorded)."""
        error = error_json(exc)
        shorter: list[dict[str, Any]] | None = None
        while True:
            try:
                failure = self._sql(
                    db.step_failed, self.workflow_id, self.lease, step_id, definition.name,
                    error, max_attempts=definition.max_attempts,
                    backoff_base=definition.backoff_base, backoff_max=definition.backoff_max,
                    started_at=started)
                break
            except _REFUSED as refused:
                # the error itself was refused (too large): record it shortened
                if shorter is None:
                    shorter = short_errors(exc, refused)
                if not shorter:
                    self.fatal = refused  # not even a short error is accepted: the run fails
                    raise
                error = shorter.pop(0)
            except Nondeterminism as no:
                self.fatal = no
                raise
        log.info("%s: step %d %s failed (try %d): %s: %s; %s", self.workflow_id, step_id,
                 definition.name, failure.tries, error["type"],
                 error["message"][:_SHORT_MESSAGE_LIMIT],
                 f"retry in {failure.retry_in}" if failure.retry else "no retry left")
        if failure.retry:
            self.tries[step_id] = failure.tries
            return failure
        self.tries.pop(step_id, None)
        self.recorded[step_id] = {"step_id": step_id, "name": definition.name,
                                  "output": failure.output, "error": failure.error}
        return None

    def _transactional(self, definition: StepDef, info: StepInfo, started: datetime,
                       args: tuple[Any, ...], kwargs: dict[str, Any]) -> db.StepOutcome:
        conn = self.conn
        try:
            with conn.transaction():
                value = _call(info, definition.fn, (conn, *args), kwargs, conn)
                text, _, _ = _output(definition.name, value)
                try:
                    # in the step's transaction, on its connection: never sent again elsewhere
                    done = db.checkpoint(conn, self.workflow_id, self.lease, info.step_id,
                                         definition.name, db.raw_json(text), None, started)
                except (LeaseLost, Cancelled) as exc:
                    self._stop(exc)
                except psycopg.OperationalError:
                    raise
                except (_REFUSED, psycopg.DataError) as exc:  # type: ignore[misc]
                    raise _StepRaised(exc) from exc  # rolls back the step's writes
                if not done.recorded:
                    # recorded before (by an execution whose reply was lost): undo our writes
                    raise _AlreadyRecorded(done)
            return done
        except _AlreadyRecorded as already:
            return already.outcome

    def _wrong_thread(self, name: str) -> None:
        exc = WrongThread(
            f"step {name} was called from thread {threading.current_thread().name!r}, "
            f"not from the thread running workflow {self.workflow_id}: a step runs only in its "
            "workflow's thread, where it gets its position and its checkpoint (call the steps "
            "one after another, or do the concurrent work inside one step)")
        if self.fatal is None:
            self.fatal = exc
        raise exc


class _StepRaised(Exception):
    def __init__(self, exc: BaseException):
        self.exc = exc


def _output(name: str, value: Any) -> tuple[str, Any, Any]:
    """A step's output as JSON text, as stored and as the workflow sees it (see encoded); one
    that cannot be stored is the step's failed try."""
    try:
        return encoded(value, f"the output of step {name}")
    except InvalidValue as exc:
        raise _StepRaised(exc) from None


def _call(info: StepInfo, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
          conn: psycopg.Connection | None = None) -> Any:
    """Call a step's function with its StepInfo current; its own exceptions come out wrapped in
    _StepRaised, the ones that must stop the run (and the loss of conn, the run's connection a
    transactional step works on) as they are."""
    token = _step.set(info)
    try:
        value = otel.call_step(info, fn, args, kwargs)
        if inspect.iscoroutine(value):  # an async def step in a sync workflow (durable.aio)
            value = asyncio.run(value)
        return value
    except (Stopped, _Replay):
        raise
    except psycopg.OperationalError as exc:
        if conn is not None and db.lost(conn, exc):
            raise
        raise _StepRaised(exc) from exc
    except BaseException as exc:  # the step's own error is its try's outcome
        raise _StepRaised(exc) from exc
    finally:
        _step.reset(token)


def _outcome(name: str, output: Any, error: Any) -> Any:
    """A recorded step's outcome in the workflow: its output decoded (as on its first run), or
    its error raised again (durable.errors.step_error: its own class when resolvable, else
    StepFailed)."""
    if error is not None:
        raise step_error(name, error)
    return values.decode_jsonb(output, f"the output of step {name}")
