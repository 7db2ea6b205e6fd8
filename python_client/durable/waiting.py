"""Waiting inside a workflow: durable sleep, messages, events and child workflows.

Each function here is a step of the running workflow at its next position, so a replay stays
deterministic: recorded, it is replayed from the claim without a round trip; new, it is one
call of its SQL function (durable.sleep, durable.recv, durable.send_step, durable.set_event,
durable.await_event, durable.start_child, durable.await_children), which decides everything.
A wait the SQL cannot end at once parks the run: the row becomes `waiting` and its lease is
released in that statement, the workflow's code unwinds with durable.Parked (never recorded),
the worker's slot is free, and the run is claimed again when the wait can end (the message
arrives, the event is set, the children finish, the time or the timeout passes); the recorded
steps replay and the wait returns its outcome. Its terms (what it waits for and until when)
are fixed the first time it is reached: a replay never extends them.

In an async workflow (durable.aio) each of them is an awaitable, its position taken at the
call: `await durable.sleep(60)`, `msg = await durable.recv("confirm")`.

Called outside workflow code (from a client, or inside a step) they raise NotInWorkflow;
clients use app.send, app.get_event and WorkflowHandle.result instead.

    @app.workflow()
    def signup(email: str) -> str:
        create_user(email)
        send_welcome(email)
        reply = durable.recv("confirm", timeout=3 * 24 * 3600)   # parks; no slot held
        if reply is None:
            return "expired"
        durable.sleep(3600)
        send_followup(email)
        return "confirmed"
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from . import db, otel, values
from .errors import NotInWorkflow, WorkflowCancelled, workflow_error
from .execution import Run, run_of_call

if TYPE_CHECKING:
    from .app import WorkflowHandle

SLEEP = "durable.sleep"
RECV = "durable.recv"
SEND = "durable.send"
SET_EVENT = "durable.set_event"
GET_EVENT = "durable.get_event"
START_CHILD = "durable.start_child"
START_CHILDREN = "durable.start_children"
AWAIT_CHILDREN = "durable.await_children"


T = TypeVar("T")


def then(value: Any, post: Callable[[Any], T]) -> T:
    """post(value); when value is an awaitable (a step of an async workflow, durable.aio), an
    awaitable of post(await value) instead: so each function here is awaited in an async
    workflow and called plainly in a sync one. Typed as the sync value: async workflow code
    that wants the awaitable's type uses durable.aio's typed variants (durable.aio.recv, ...)."""
    if inspect.isawaitable(value):
        async def later() -> T:
            return post(await value)
        return later()  # type: ignore[return-value]
    return post(value)


def _none(_: Any) -> None:
    return None


def _ready(run: Any, value: Any) -> Any:
    """value, or an awaitable of it when run is an async run (a call that needs no step)."""
    if getattr(run, "is_async", False):
        async def ready() -> Any:
            return value
        return ready()
    return value


def current(what: str) -> Run:
    """The run whose workflow code calls what; NotInWorkflow outside workflow code."""
    run = run_of_call()
    if run is None:
        raise NotInWorkflow(
            f"{what} waits or records as a step of the running workflow: call it from workflow "
            "code (a function decorated with @app.workflow), not from a client or inside a "
            "step (clients use app.send, app.get_event and WorkflowHandle.result)")
    return run


def _seconds(value: db.Seconds | None, what: str) -> db.Seconds | None:
    if isinstance(value, bool) or not (value is None or isinstance(value, (int, float,
                                                                           timedelta))):
        raise TypeError(f"{what} must be a number of seconds or a timedelta, not "
                        f"{type(value).__name__}")
    return value


def sleep(seconds: db.Seconds) -> None:
    """Sleep durably for seconds (a number or a timedelta, at most 100 years; 0 or less is due
    at once): the run waits in the database, holding no worker slot, and resumes at a worker's
    next poll after its wake time (fixed when first reached: a replay never extends it). One
    step (durable.sleep). Raises BadArgument (DU011) when seconds is out of range,
    NotInWorkflow outside workflow code."""
    run = current("durable.sleep")
    return then(run.call(SLEEP, db.sleep, parks=True, duration=_seconds(seconds, "seconds")),
                _none)


def sleep_until(when: datetime) -> None:
    """Sleep durably until when, an aware datetime (a naive one raises InvalidValue); a time
    already past returns at once. One step (durable.sleep with p_until); see sleep."""
    run = current("durable.sleep_until")
    if not isinstance(when, datetime):
        raise TypeError(f"when must be a datetime, not {type(when).__name__}")
    return then(run.call(SLEEP, db.sleep, parks=True, until=db.aware(when, "when")), _none)


def recv(topic: str = "default", timeout: db.Seconds | None = None) -> Any:
    """Receive the oldest unconsumed message of topic (1..200 characters) sent to this workflow
    (app.send, durable.send, psql's durable.send): the message, or None when timeout seconds
    (None: wait forever; fixed when first reached) passed first. The message is consumed and the
    step recorded in one transaction: exactly once, whatever crashes. One step (durable.recv);
    the run parks while no message is there. Raises MissingArgument (DU010) or BadArgument
    (DU011) for a bad topic or timeout."""
    run = current("durable.recv")
    return then(run.call(RECV, db.recv, topic, _seconds(timeout, "timeout"), parks=True),
                lambda output: None if output.get("timed_out")
                else values.decode(output["message"], "the message"))


def send(destination_id: str, message: Any, topic: str = "default") -> int:
    """Send message (a value: durable.values) on topic to workflow destination_id from this
    workflow: one step (durable.send_step) whose recorded outcome is the message id, so a replay
    does not send it again. Raises UnknownWorkflow (DU003), AlreadyFinished (DU013: the
    destination finished), PayloadTooLarge (DU008), InvalidValue (a value it cannot store)."""
    run = current("durable.send")
    # refused before the step, not as it
    text = db.jsonb_arg(values.encode(message, "the message"), "the message")
    return then(run.call(SEND, db.send_step, destination_id, text, topic),
                lambda output: int(output["message_id"]))


def set_event(key: str, value: Any) -> None:
    """Publish event key (1..200 characters) of this workflow with value (a value:
    durable.values): one step (durable.set_event). The latest value per key counts (every value
    is kept); it wakes the workflows waiting for it and the clients in app.get_event. A replay
    sets nothing again. InvalidValue, before the step, for a value it cannot store."""
    run = current("durable.set_event")
    text = db.jsonb_arg(values.encode(value, "the event's value"), "the event's value")
    return then(run.call(SET_EVENT, db.set_event, key, text), _none)


def get_event(workflow_id: str, key: str, timeout: db.Seconds | None = None) -> Any:
    """Wait durably for event key of workflow workflow_id: its latest value once set (at once
    when it already is), or None when timeout seconds (None: forever; fixed when first reached)
    passed first. One step (durable.await_event); the run parks meanwhile. Raises
    UnknownWorkflow (DU003) for an unknown workflow_id."""
    run = current("durable.get_event")
    return then(run.call(GET_EVENT, db.await_event, workflow_id, key,
                         _seconds(timeout, "timeout"), parks=True),
                lambda output: None if output.get("timed_out")
                else values.decode(output["value"], "the event's value"))


def start_child(name: str, input: Any, *, child_id: str | None = None, queue: str | None = None,
                priority: int | None = None, timeout: db.Seconds | None = None,
                detached: bool = False) -> str:
    """Start child workflow name with input (stored JSON, as durable.values.encode_input makes
    it) from the running workflow: one step
    (durable.start_child) whose outcome is the child's id (child_id, else made by the SQL from
    this workflow's id and the step's position, so a replay finds the child instead of starting
    another). app.enqueue calls it inside a workflow."""
    run = current("starting a child workflow")
    text = db.jsonb_arg(input, "the child workflow's input")
    _seconds(timeout, "timeout")
    child_name = name

    def start_child(conn: Any, workflow_id: str, lease: int, step_id: int, *,
                    name: str) -> Any:  # Run.call names the step with the keyword name
        # called inside the step's span (durable.otel): the child's spans hang under it
        return db.start_child(conn, workflow_id, lease, step_id, child_name, text,
                              child_id=child_id, queue=queue, priority=priority,
                              timeout=timeout, detached=detached, step_name=name,
                              trace_context=otel.traceparent())

    return then(run.call(START_CHILD, start_child), lambda output: str(output["workflow_id"]))


def start_children(children: list[dict[str, Any]]) -> list[str]:
    """Start child workflows from the running workflow in one step (durable.start_children: one
    call, one commit, however many children, up to 10,000): children is a list of
    {"name", "input", "workflow_id", "queue", "priority", "timeout", "detached"} (all but name
    optional; timeout in seconds). Returns their ids in order (workflow_id, else made by the SQL:
    "<parent id>-<step position>-<n>", n from 1), so a replay finds the same children.
    app.enqueue_many calls it inside a workflow."""
    run = current("starting child workflows")
    items = []
    for child in children:
        item = dict(child)
        if item.get("timeout") is not None:
            seconds = _seconds(item["timeout"], "timeout")
            if isinstance(seconds, timedelta):
                seconds = seconds.total_seconds()
            item["timeout"] = f"{float(seconds)} seconds"  # type: ignore[arg-type]  # not None
        items.append({k: v for k, v in item.items() if v is not None})
    text = db.jsonb_arg(items, "the child workflows")

    def start_children(conn: Any, workflow_id: str, lease: int, step_id: int, *,
                       name: str) -> Any:  # Run.call names the step with the keyword name
        return db.start_children(conn, workflow_id, lease, step_id, text, step_name=name,
                                 trace_context=otel.traceparent())  # the step's span

    return then(run.call(START_CHILDREN, start_children),
                lambda output: list(output["workflow_ids"]))


@dataclass(frozen=True)
class ChildResult:
    """A child workflow as durable.await_children saw it: status (succeeded, failed,
    cancelled; or pending, running, waiting when the wait timed out first), its output once
    succeeded, its error once failed or cancelled."""

    workflow_id: str
    status: str
    output: Any
    error: Any

    @property
    def finished(self) -> bool:
        """Whether the child had finished (succeeded, failed or cancelled)."""
        return self.status in ("succeeded", "failed", "cancelled")


def _ids(handles: Sequence[WorkflowHandle[Any] | str]) -> list[str]:
    return [h if isinstance(h, str) else h.workflow_id for h in handles]


def await_children(handles: Sequence[WorkflowHandle[Any] | str], timeout: db.Seconds | None = None,
                   what: str = "durable.wait_all") -> tuple[list[ChildResult], bool]:
    """One durable.await_children step for the children (handles or ids): ([ChildResult] in
    the order given, whether the timeout passed first)."""
    run = current(what)
    return then(run.call(AWAIT_CHILDREN, db.await_children, _ids(handles),
                         _seconds(timeout, "timeout"), parks=True),
                lambda output: ([ChildResult(c["workflow_id"], c["status"],
                                             values.decode(c.get("output"),
                                                           f"the output of {c['workflow_id']}"),
                                             c.get("error")) for c in output["children"]],
                                bool(output.get("timed_out"))))


def wait_all(handles: Sequence[WorkflowHandle[Any] | str],
             timeout: db.Seconds | None = None) -> list[ChildResult]:
    """Wait durably until every child (WorkflowHandles from app.enqueue in this workflow, or
    their ids) has finished, in one step (durable.await_children: one wake-up for all of them,
    the run parked meanwhile); returns a ChildResult (status, output, error) per child in the
    order given, without raising for failed or cancelled ones. After timeout seconds (None:
    forever) it returns what is known then: unfinished children show their status, output and
    error None. An empty list returns [] without a step. Raises NotAChild (DU016) for a
    workflow that is not a child of this one."""
    if not handles:
        return then(_ready(current("durable.wait_all"), []), lambda results: results)
    return then(await_children(handles, timeout), lambda answer: answer[0])


def await_child(workflow_id: str, timeout: db.Seconds | None = None) -> Any:
    """WorkflowHandle.result inside a workflow: the child's output; its exception raised again
    (durable.errors.workflow_error: its own class, else WorkflowFailed) or WorkflowCancelled as
    a client gets them, TimeoutError when timeout passed first."""
    return then(await_children([workflow_id], timeout, "WorkflowHandle.result"),
                lambda answer: _child_outcome(workflow_id, answer[0][0], timeout))


def _child_outcome(workflow_id: str, child: ChildResult, timeout: db.Seconds | None) -> Any:
    if child.status == "succeeded":
        return child.output
    if child.status == "cancelled":
        raise WorkflowCancelled(workflow_id)
    if child.status == "failed":
        raise workflow_error(workflow_id, child.error)
    raise TimeoutError(f"child workflow {workflow_id} is still {child.status} after the "
                       f"timeout ({timeout}s)")
