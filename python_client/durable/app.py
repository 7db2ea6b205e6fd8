"""The workflow and step API: the Durable app, its decorators and registry, and handles.

    app = Durable("postgresql://...")

    @app.step(max_attempts=3, backoff_base=0.5)
    def charge(order_id: str) -> dict: ...

    @app.transaction()
    def reserve(conn, order_id: str) -> None: ...

    @app.workflow(queue="orders")
    def order(order_id: str) -> dict:
        reserve(order_id)
        return charge(order_id)

    handle = app.enqueue(order, "o-1", workflow_id="order-o-1")
    handle.result(timeout=30)

Inside a workflow, app.enqueue starts a child workflow (a step, durable.start_child) and the
handle's result() is a durable wait (durable.await_children): see durable.waiting.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg

from . import db, schedules, waiting
from .errors import InvalidValue, NotRegistered, WorkflowCancelled, WorkflowFailed
from .execution import run_of_call

F = TypeVar("F", bound=Callable[..., Any])


def _check_definition(kind: str, name: str, fn: Callable[..., Any]) -> None:
    """Refuse at decoration what could only fail when run: async and generator functions (their
    value is a coroutine or a generator, never JSON), and names Postgres cannot store."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(f"{kind} {name!r} is an async function: durable runs workflows and steps "
                        "as plain functions in worker threads and does not support asyncio yet; "
                        "define it with def")
    if inspect.isgeneratorfunction(fn):
        raise TypeError(f"{kind} {name!r} is a generator function: its value, a generator, is "
                        "not JSON; return a list instead")
    if not name or db.storable_text(name) != name:
        raise InvalidValue(f"{kind} name {name!r} cannot be stored: it is empty or holds a NUL "
                           "character or a surrogate")


@dataclass(frozen=True)
class WorkflowDef:
    """A registered workflow: its function and the enqueue defaults of its decorator."""

    name: str
    fn: Callable[..., Any]
    queue: str | None = None
    max_attempts: int | None = None
    backoff_base: db.Seconds | None = None
    backoff_max: db.Seconds | None = None
    priority: int | None = None
    max_lost_leases: int | None = None
    timeout: db.Seconds | None = None


@dataclass(frozen=True)
class StepDef:
    """A registered step: its function and the retry policy passed to durable.step_failed."""

    name: str
    fn: Callable[..., Any]
    max_attempts: int | None = None
    backoff_base: db.Seconds | None = None
    backoff_max: db.Seconds | None = None
    transactional: bool = False


class WorkflowHandle:
    """A started workflow: ask its status, wait for its result, cancel it."""

    def __init__(self, app: Durable, workflow_id: str, created: bool = True):
        self.app = app
        self.workflow_id = workflow_id
        self.created = created

    def __repr__(self) -> str:
        return f"WorkflowHandle({self.workflow_id!r})"

    def get(self) -> db.Result:
        """durable.result now: status, output, error, attempt, timestamps."""
        return self.app._call(db.result, self.workflow_id)

    def status(self) -> str:
        """The workflow's status now (pending, running, waiting, succeeded, failed, cancelled)."""
        return self.get().status

    def result(self, timeout: float | None = None, poll: float = 5.0) -> Any:
        """Wait until the workflow finishes and return its output; raises WorkflowFailed (its
        recorded error in .error), WorkflowCancelled, or TimeoutError after timeout seconds
        (None: no limit).

        From a client: LISTEN durable_finished, then durable.watch (the result now, and a
        notification when it finishes), then sleep until a notification names this workflow,
        calling durable.watch again every poll seconds in case one was lost. Inside a workflow
        (the handle of a child it started): a durable wait, durable.await_children, one step
        that parks the run until the child finishes (no slot held); a timeout is then fixed
        when first reached. NotAChild (DU016) when the workflow is not a child of this one."""
        if run_of_call() is not None:
            return waiting.await_child(self.workflow_id, timeout)
        res = self.app._wait_notified(
            db.FINISHED_CHANNEL, lambda payload: payload == self.workflow_id,
            lambda conn: _finished(db.watch(conn, self.workflow_id)), timeout, poll)
        if res is None:
            raise TimeoutError(f"workflow {self.workflow_id} is still {self.status()} after "
                               f"{timeout}s")
        if res.status == "succeeded":
            return res.output
        if res.status == "cancelled":
            raise WorkflowCancelled(self.workflow_id)
        raise WorkflowFailed(self.workflow_id, res.error)

    def cancel(self) -> str:
        """durable.cancel this workflow."""
        return self.app._call(db.cancel, self.workflow_id)


def _await_note(conn: psycopg.Connection, channel: str, matches: Callable[[str], bool],
                wait: float) -> None:
    """Return when a notification on channel whose payload matches arrives on conn, or after
    wait seconds."""
    end = time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        # read the generator to its end (one notification at most): it holds the connection
        notes = [(n.channel, n.payload) for n in conn.notifies(timeout=left, stop_after=1)]
        if any(c == channel and matches(p) for c, p in notes):
            return


def _finished(res: db.Result) -> db.Result | None:
    return res if res.finished_at is not None else None


class Durable:
    """The app: a DSN, the registry of workflows and steps, and a client connection."""

    def __init__(self, dsn: str | None = None, *, version: str | None = None):
        self.dsn = dsn
        self._version = version
        self.workflows: dict[str, WorkflowDef] = {}
        self.schedules: list[schedules.ScheduleDef] = []  # @app.schedule, set by workers
        self.steps: dict[str, StepDef] = {}
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._schema_checked = False  # durable.version() checked on a connection of the app
        # one LISTEN connection per thread that waits for a notification (result, get_event)
        self._listeners = threading.local()
        self._listener_conns: list[psycopg.Connection] = []

    # -- registry --------------------------------------------------------------------------------

    def workflow(
        self,
        name: str | None = None,
        *,
        queue: str | None = None,
        max_attempts: int | None = None,
        backoff_base: db.Seconds | None = None,
        backoff_max: db.Seconds | None = None,
        priority: int | None = None,
        max_lost_leases: int | None = None,
        timeout: db.Seconds | None = None,
    ) -> Callable[[F], F]:
        """Register a function as workflow name (default: the function's name).

        Its arguments and return value must be JSON. The options are enqueue's defaults for it:
        the attempts and backoff of the whole workflow are applied by durable.fail;
        max_lost_leases (1..1000, default durable.settings.max_lost_leases, 3) is how many times
        its worker may die with it before it fails (a crash loop); timeout (seconds, more than
        0; default none) gives each run a deadline, its run_at + timeout, after which the SQL
        cancels it and its children (error type DeadlineExceeded). A worker registers them in
        the database (durable.register), so enqueue from psql, the CLI or another language gets
        them too. async def and generator functions are refused (TypeError)."""

        def decorate(fn: F) -> F:
            definition = WorkflowDef(name or fn.__name__, fn, queue, max_attempts, backoff_base,
                                     backoff_max, priority, max_lost_leases, timeout)
            _check_definition("workflow", definition.name, fn)
            if definition.name in self.workflows:
                raise ValueError(f"workflow {definition.name!r} is registered twice")
            self.workflows[definition.name] = definition
            fn.durable_workflow = definition  # type: ignore[attr-defined]
            return fn

        return decorate

    def schedule(
        self,
        cron: str,
        *,
        name: str | None = None,
        time_zone: str = "UTC",
        missed: str = "skip",
        grace: db.Seconds | None = None,
        input: Any = None,
        queue: str | None = None,
    ) -> Callable[[F], F]:
        """Run a workflow on a cron schedule: put it on (above or below) @app.workflow().

        Each tick of cron (5 fields, or 6 with seconds first, or @hourly-style names; POSIX
        crontab as Vixie cron reads it) in time_zone (an IANA name) starts the workflow once,
        whichever worker materializes it, on queue, with input (JSON: a list is its arguments,
        None none, any other value its one argument). A worker sets the schedule in the
        database when it starts (durable.set_schedule, which needs the durable_client role; a
        pause made by an operator is kept), and every worker starts due ticks with each
        heartbeat (durable.materialize_schedules). missed says what to do with ticks more than
        grace seconds (default 60) late, missed while no worker ran: "skip" them, run "once"
        for them, or run "all" of them. name (default: the workflow's name) names the schedule,
        for several schedules of one workflow."""
        if missed not in schedules.MISSED:
            raise ValueError(f"missed must be one of {schedules.MISSED}, got {missed!r}")

        def decorate(fn: F) -> F:
            self.schedules.append(schedules.ScheduleDef(cron, fn, name, time_zone, missed, grace,
                                                        input, queue))
            return fn

        return decorate

    def step(
        self,
        name: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: db.Seconds | None = None,
        backoff_max: db.Seconds | None = None,
        transactional: bool = False,
    ) -> Callable[[F], F]:
        """Register a function as step name (default: the function's name).

        Called from a workflow it runs once: its output (JSON) is checkpointed and replayed on
        re-execution. A failed try (an exception, or an output that is not storable JSON or
        that the SQL refuses, e.g. over max_payload_bytes) is reported to durable.step_failed,
        which decides whether it is retried: up to max_attempts tries, the n-th retry after a
        random wait between d/2 and d, where d = min(backoff_max, backoff_base * 2**(n-1))
        seconds (durable.backoff). A transactional step receives the worker's connection as its
        first argument; its writes commit in the same transaction as its checkpoint. Called
        outside a workflow, or by another step, it is a plain call. A step must be called from
        its workflow's own thread: called from a thread the workflow's code started (a thread
        pool), it raises WrongThread and the run fails. async def and generator functions are
        refused (TypeError)."""

        def decorate(fn: F) -> F:
            definition = StepDef(name or fn.__name__, fn, max_attempts, backoff_base,
                                 backoff_max, transactional)
            _check_definition("step", definition.name, fn)
            if definition.name in self.steps:
                raise ValueError(f"step {definition.name!r} is registered twice")
            self.steps[definition.name] = definition

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                run = run_of_call()
                if run is not None:
                    return run.step(definition, args, kwargs)
                if transactional:  # outside a workflow, or inside another step
                    return self._plain_transaction(fn, args, kwargs)
                return fn(*args, **kwargs)

            wrapper.durable_step = definition  # type: ignore[attr-defined]
            return wrapper  # type: ignore[return-value]

        return decorate

    def transaction(
        self,
        name: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: db.Seconds | None = None,
        backoff_max: db.Seconds | None = None,
    ) -> Callable[[F], F]:
        """Register a transactional step: step(..., transactional=True)."""
        return self.step(name, max_attempts=max_attempts, backoff_base=backoff_base,
                         backoff_max=backoff_max, transactional=True)

    def _plain_transaction(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        with db.connect(self.dsn, application_name="durable client") as conn, conn.transaction():
            return fn(conn, *args, **kwargs)

    # -- client ----------------------------------------------------------------------------------

    def connection(self) -> psycopg.Connection:
        """The app's own autocommit client connection (made on first use, remade when broken);
        the first one checks the schema's version (UnsupportedSchema)."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = db.connect(self.dsn, application_name="durable client")
            try:
                self._check_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _check_schema(self, conn: psycopg.Connection) -> None:
        if not self._schema_checked:
            db.check_schema(conn)
            self._schema_checked = True

    def _call(self, fn: Callable[..., Any], *args: Any, conn: psycopg.Connection | None = None,
              **kwargs: Any) -> Any:
        if conn is not None:
            self._check_schema(conn)
            return fn(conn, *args, **kwargs)
        with self._lock:
            return fn(self.connection(), *args, **kwargs)

    def close(self) -> None:
        """Close the client connection and the connections that listened for results."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            listeners, self._listener_conns = self._listener_conns, []
            self._listeners = threading.local()
        for conn in listeners:
            conn.close()

    def _definition(self, workflow: Callable[..., Any] | str) -> tuple[str, WorkflowDef | None]:
        if isinstance(workflow, str):
            return workflow, self.workflows.get(workflow)
        definition = getattr(workflow, "durable_workflow", None)
        if definition is None:
            raise NotRegistered(f"{workflow!r} is not a registered workflow: decorate it with "
                                "@app.workflow()")
        return definition.name, definition

    @property
    def version(self) -> str:
        """The version of this app's workflow code: Durable(version=...) when given, else
        "src-" and 12 hex digits of a SHA-256 over each registered workflow's name and source
        (its bytecode when the source cannot be read), as DBOS derives an application version
        from its workflows' source. A worker registers it (durable.register); a workflow run is
        pinned to the version of the worker that first claims it and only workers of that
        version claim it again, so a changed workflow never replays steps recorded by other
        code. Step bodies are not hashed: changing what a step does inside does not change the
        order of steps a replay must follow."""
        if self._version is not None:
            return self._version
        digest = hashlib.sha256()
        for name in sorted(self.workflows):
            fn = self.workflows[name].fn
            try:
                code = inspect.getsource(fn).encode()
            except (OSError, TypeError):
                code = fn.__code__.co_code + repr(fn.__code__.co_consts).encode()
            digest.update(name.encode() + b"\0" + code + b"\0")
        return "src-" + digest.hexdigest()[:12]

    def registrations(self) -> list[dict[str, Any]]:
        """The registered workflows with their declared defaults, as durable.register takes
        them: [{"name", "queue", "max_attempts", "backoff_base", "backoff_max",
        "max_lost_leases", "timeout"}] (seconds for the backoffs and the timeout; keys left out
        when not declared)."""
        items = []
        for d in self.workflows.values():
            item: dict[str, Any] = {"name": d.name}
            for key, value in (("queue", d.queue), ("max_attempts", d.max_attempts),
                               ("max_lost_leases", d.max_lost_leases)):
                if value is not None:
                    item[key] = value
            for key, value in (("backoff_base", d.backoff_base), ("backoff_max", d.backoff_max),
                               ("timeout", d.timeout)):
                if value is not None:
                    item[key] = f"{db.interval(value).total_seconds()} seconds"
            items.append(item)
        return items

    def enqueue(
        self,
        workflow: Callable[..., Any] | str,
        *args: Any,
        workflow_id: str | None = None,
        queue: str | None = None,
        delay: db.Seconds | None = None,
        run_at: datetime | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        conn: psycopg.Connection | None = None,
        timeout: db.Seconds | None = None,
        detached: bool = False,
        concurrency_key: str | None = None,
        dedup_key: str | None = None,
        if_exists: str | None = None,
    ) -> WorkflowHandle:
        """Start workflow (a decorated function or a name) with args: one durable.enqueue call.

        With workflow_id it is idempotent (the same id returns the existing run). With conn it
        runs on the caller's connection, inside the caller's transaction if one is open, so the
        workflow exists only if that transaction commits. run_at must be an aware datetime: a
        naive one, which Postgres would read in the session's time zone, raises InvalidValue, as
        do arguments holding what jsonb cannot store (a NUL character, a surrogate). timeout
        (seconds, more than 0; default the decorator's) gives the run a deadline, run_at +
        timeout: when it passes, the SQL cancels the run and its children (error type
        DeadlineExceeded), and its worker stops it at its next call. concurrency_key names the
        key (a customer, a tenant) its queue's key_concurrency limits; dedup_key refuses it
        (Deduplicated, DU019) while a run of the queue with that key waits for its first
        claim; if_exists="refuse_different_input" refuses a reused workflow_id whose run has
        another input (InputConflict, DU018) instead of returning that run.

        Inside a workflow's code it starts a child workflow instead: one step
        (durable.start_child) whose outcome is the child's id (workflow_id, else
        "<parent id>-<step position>"), so a replay finds the same child; the child's deadline
        is the parent's or timeout from now when sooner, cancelling the parent cancels the
        child unless detached=True, and the handle's result() is a durable wait. delay, run_at,
        max_attempts, conn and the keys are refused there (ValueError); detached has no effect
        outside a
        workflow. Inside a step, app.enqueue is a plain client call, as outside."""
        name, definition = self._definition(workflow)
        d = definition or WorkflowDef(name, lambda: None)
        if run_of_call() is not None:
            given = [k for k, v in (("delay", delay), ("run_at", run_at),
                                    ("max_attempts", max_attempts), ("conn", conn),
                                    ("concurrency_key", concurrency_key),
                                    ("dedup_key", dedup_key), ("if_exists", if_exists))
                     if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: not an option of a child workflow "
                                 "(app.enqueue inside a workflow starts one with "
                                 "durable.start_child)")
            child_id = waiting.start_child(
                name, list(args), child_id=workflow_id, queue=queue or d.queue,
                priority=priority if priority is not None else d.priority,
                timeout=timeout if timeout is not None else d.timeout, detached=detached)
            return WorkflowHandle(self, child_id, True)
        workflow_id, created = self._call(
            db.enqueue, name, list(args), conn=conn,
            queue=queue or d.queue, workflow_id=workflow_id,
            priority=priority if priority is not None else d.priority,
            run_at=run_at, delay=delay,
            max_attempts=max_attempts if max_attempts is not None else d.max_attempts,
            backoff_base=d.backoff_base, backoff_max=d.backoff_max,
            max_lost_leases=d.max_lost_leases,
            timeout=timeout if timeout is not None else d.timeout,
            concurrency_key=concurrency_key, dedup_key=dedup_key, if_exists=if_exists,
        )
        return WorkflowHandle(self, workflow_id, created)

    def enqueue_many(
        self,
        workflow: Callable[..., Any] | str,
        arg_lists: Sequence[Sequence[Any]],
        *,
        queue: str | None = None,
        conn: psycopg.Connection | None = None,
        timeout: db.Seconds | None = None,
        workflow_ids: Sequence[str] | None = None,
        concurrency_key: str | Sequence[str | None] | None = None,
        dedup_key: str | Sequence[str | None] | None = None,
        if_exists: str | None = None,
    ) -> list[WorkflowHandle]:
        """Start one run of workflow per list of arguments, in one durable.enqueue_batch call
        (timeout: as enqueue's, item key "timeout"). workflow_ids, and concurrency_key and
        dedup_key when given as sequences, have one entry per list (a str: the same for all);
        they and if_exists are enqueue's (a dedup key twice in the batch refuses it whole,
        DU019). Inside a workflow's code it starts one child per list instead, all in one step
        (durable.start_children: one call and one commit for the lot, ids "<parent id>-<step
        position>-<n>", n from 1; otherwise as enqueue's children)."""
        name, definition = self._definition(workflow)
        d = definition or WorkflowDef(name, lambda: None)
        per_list = {"workflow_id": workflow_ids, "concurrency_key": concurrency_key,
                    "dedup_key": dedup_key}
        if run_of_call() is not None:
            if conn is not None or any(v is not None for v in per_list.values()) or if_exists:
                raise ValueError("conn, workflow_ids, the keys and if_exists: not options of a "
                                 "child workflow")
            # one step for all of them (durable.start_children)
            ids = waiting.start_children([
                {"name": name, "input": list(args), "queue": queue or d.queue,
                 "priority": d.priority, "timeout": timeout if timeout is not None else d.timeout}
                for args in arg_lists])
            return [WorkflowHandle(self, child_id, True) for child_id in ids]
        item: dict[str, Any] = {"name": name}
        for key, value in (("queue", queue or d.queue), ("max_attempts", d.max_attempts),
                           ("priority", d.priority), ("max_lost_leases", d.max_lost_leases),
                           ("backoff_base", db.interval(d.backoff_base)),
                           ("backoff_max", db.interval(d.backoff_max)),
                           ("timeout", db.interval(timeout if timeout is not None
                                                   else d.timeout))):
            if value is not None:
                item[key] = (f"{value.total_seconds()} seconds"
                             if key in ("backoff_base", "backoff_max", "timeout") else value)
        if if_exists is not None:
            item["if_exists"] = if_exists
        items = [{**item, "input": list(args)} for args in arg_lists]
        for key, values in per_list.items():
            if values is None:
                continue
            if isinstance(values, str):
                values = [values] * len(items)
            if len(values) != len(items):
                raise ValueError(f"{key}: {len(values)} given for {len(items)} argument lists")
            for one, value in zip(items, values):
                if value is not None:
                    one[key] = value
        rows = self._call(db.enqueue_batch, items, conn=conn)
        return [WorkflowHandle(self, wid, created) for wid, created in rows]

    def handle(self, workflow_id: str) -> WorkflowHandle:
        """A handle on an existing workflow run."""
        return WorkflowHandle(self, workflow_id, created=False)

    # -- messages and events ---------------------------------------------------------------------

    def send(self, destination: str, message: Any, topic: str = "default",
             idempotency_key: str | None = None, *,
             conn: psycopg.Connection | None = None) -> int:
        """durable.send: message (JSON) on topic (default "default") to workflow destination,
        which receives it with durable.recv(topic), oldest first, each message once; it wakes
        the destination when it waits for that topic. Returns the message id; the same
        idempotency_key (1..200 characters) to the same destination again returns the first
        message's id and sends nothing. With conn, in the caller's transaction. Raises
        UnknownWorkflow (DU003), AlreadyFinished (DU013: the destination finished),
        PayloadTooLarge (DU008), BadArgument (DU011), InvalidValue (not JSON). Inside workflow
        code use durable.send, a step."""
        return self._call(db.send, destination, message, topic, idempotency_key, conn=conn)

    def get_event(self, workflow_id: str, key: str, timeout: float | None = None,
                  poll: float = 5.0) -> Any:
        """The latest value of event key of workflow workflow_id (set with durable.set_event),
        waiting for it to be set: at once when it is; else LISTEN durable_event and
        durable.get_event again when a notification names this workflow and key (and every
        poll seconds in case one was lost). None when timeout seconds pass first (None: no
        limit; 0: do not wait). Raises UnknownWorkflow (DU003). Inside workflow code use
        durable.get_event, a durable wait."""

        def matches(payload: str) -> bool:
            try:
                note = json.loads(payload)
            except ValueError:
                return False
            return (isinstance(note, dict) and note.get("workflow_id") == workflow_id
                    and note.get("key") == key)

        def check(conn: psycopg.Connection) -> db.EventValue | None:
            event = db.get_event(conn, workflow_id, key)
            return event if event.found else None

        event = self._wait_notified(db.EVENT_CHANNEL, matches, check, timeout, poll)
        return None if event is None else event.value

    def _listener(self) -> psycopg.Connection:
        """This thread's LISTEN connection (made on first use, remade when broken)."""
        conn = getattr(self._listeners, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = db.connect(self.dsn, application_name="durable client listener")
            try:
                self._check_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._listeners.conn = conn
            with self._lock:
                self._listener_conns = [c for c in self._listener_conns if not c.closed]
                self._listener_conns.append(conn)
        return conn

    def _wait_notified(self, channel: str, matches: Callable[[str], bool],
                       check: Callable[[psycopg.Connection], Any], timeout: float | None,
                       poll: float) -> Any:
        """check(conn) after LISTEN channel, and again on each notification whose payload
        matches, or every poll seconds, until it returns something other than None (returned)
        or timeout seconds passed (None); then UNLISTEN. A lost connection is remade (LISTEN
        again, check again)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            conn = self._listener()
            try:
                db.listen(conn, channel)
                try:
                    value = check(conn)
                    while value is None:
                        left = None if deadline is None else deadline - time.monotonic()
                        if left is not None and left <= 0:
                            return None
                        _await_note(conn, channel, matches,
                                    poll if left is None else min(poll, left))
                        value = check(conn)
                    return value
                finally:
                    if not (conn.closed or conn.broken):
                        db.unlisten(conn)
            except psycopg.OperationalError:
                conn.close()
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def set_queue(self, name: str, concurrency: int | None = None,
                  paused: bool | None = None, *, rate_limit: int | None = None,
                  rate_period: db.Seconds | None = None,
                  key_concurrency: int | None = None) -> None:
        """durable.set_queue: create a queue or change only the settings given (None keeps a
        setting; 0 removes a limit): concurrency, paused, rate_limit starts per rate_period
        (seconds, up to a day; a sliding window across workers), key_concurrency runs per
        concurrency key. Raises BadArgument (DU011) or MissingArgument (DU010)."""
        self._call(db.set_queue, name, concurrency, paused, rate_limit, rate_period,
                   key_concurrency)

    def fork(self, workflow_id: str, step: int, new_id: str | None = None,
             version: str | None = None) -> WorkflowHandle:
        """durable.fork: a new run of workflow_id (same name, input, queue) whose steps before
        position step are replayed, not run again; version pins it to that code version. The
        original is left as it was. Raises UnknownWorkflow, IdConflict or BadArgument."""
        return WorkflowHandle(self, self._call(db.fork, workflow_id, step, new_id, version))

    def cancel(self, workflow_id: str) -> str:
        """durable.cancel."""
        return self._call(db.cancel, workflow_id)

    def retry(self, workflow_id: str) -> str:
        """durable.retry."""
        return self._call(db.retry, workflow_id)
