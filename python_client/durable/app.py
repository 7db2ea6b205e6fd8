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
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg

from . import db
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

    def result(self, timeout: float | None = None, poll: float = 0.02, max_poll: float = 1.0) -> Any:
        """Wait until the workflow finishes and return its output; raises WorkflowFailed,
        WorkflowCancelled, or TimeoutError after timeout seconds. Polls durable.result with a
        delay growing from poll to max_poll seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = poll
        while True:
            res = self.get()
            if res.finished_at is not None:
                if res.status == "succeeded":
                    return res.output
                if res.status == "cancelled":
                    raise WorkflowCancelled(self.workflow_id)
                raise WorkflowFailed(self.workflow_id, res.error)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"workflow {self.workflow_id} is still {res.status}")
                delay = min(delay, left)
            time.sleep(delay)
            delay = min(delay * 1.5, max_poll)

    def cancel(self) -> str:
        """durable.cancel this workflow."""
        return self.app._call(db.cancel, self.workflow_id)


class Durable:
    """The app: a DSN, the registry of workflows and steps, and a client connection."""

    def __init__(self, dsn: str | None = None, *, version: str | None = None):
        self.dsn = dsn
        self._version = version
        self.workflows: dict[str, WorkflowDef] = {}
        self.steps: dict[str, StepDef] = {}
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._schema_checked = False  # durable.version() checked on a connection of the app

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
    ) -> Callable[[F], F]:
        """Register a function as workflow name (default: the function's name).

        Its arguments and return value must be JSON. The options are enqueue's defaults for it:
        the attempts and backoff of the whole workflow are applied by durable.fail;
        max_lost_leases (1..1000, default durable.settings.max_lost_leases, 3) is how many times
        its worker may die with it before it fails (a crash loop). A worker registers them in
        the database (durable.register), so enqueue from psql, the CLI or another language gets
        them too. async def and generator functions are refused (TypeError)."""

        def decorate(fn: F) -> F:
            definition = WorkflowDef(name or fn.__name__, fn, queue, max_attempts, backoff_base,
                                     backoff_max, priority, max_lost_leases)
            _check_definition("workflow", definition.name, fn)
            if definition.name in self.workflows:
                raise ValueError(f"workflow {definition.name!r} is registered twice")
            self.workflows[definition.name] = definition
            fn.durable_workflow = definition  # type: ignore[attr-defined]
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
        """Close the client connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

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
        "max_lost_leases"}] (seconds for the backoffs; keys left out when not declared)."""
        items = []
        for d in self.workflows.values():
            item: dict[str, Any] = {"name": d.name}
            for key, value in (("queue", d.queue), ("max_attempts", d.max_attempts),
                               ("max_lost_leases", d.max_lost_leases)):
                if value is not None:
                    item[key] = value
            for key, value in (("backoff_base", d.backoff_base), ("backoff_max", d.backoff_max)):
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
    ) -> WorkflowHandle:
        """Start workflow (a decorated function or a name) with args: one durable.enqueue call.

        With workflow_id it is idempotent (the same id returns the existing run). With conn it
        runs on the caller's connection, inside the caller's transaction if one is open, so the
        workflow exists only if that transaction commits. run_at must be an aware datetime: a
        naive one, which Postgres would read in the session's time zone, raises InvalidValue, as
        do arguments holding what jsonb cannot store (a NUL character, a surrogate)."""
        name, definition = self._definition(workflow)
        d = definition or WorkflowDef(name, lambda: None)
        workflow_id, created = self._call(
            db.enqueue, name, list(args), conn=conn,
            queue=queue or d.queue, workflow_id=workflow_id,
            priority=priority if priority is not None else d.priority,
            run_at=run_at, delay=delay,
            max_attempts=max_attempts if max_attempts is not None else d.max_attempts,
            backoff_base=d.backoff_base, backoff_max=d.backoff_max,
            max_lost_leases=d.max_lost_leases,
        )
        return WorkflowHandle(self, workflow_id, created)

    def enqueue_many(
        self,
        workflow: Callable[..., Any] | str,
        arg_lists: Sequence[Sequence[Any]],
        *,
        queue: str | None = None,
        conn: psycopg.Connection | None = None,
    ) -> list[WorkflowHandle]:
        """Start one run of workflow per list of arguments, in one durable.enqueue_batch call."""
        name, definition = self._definition(workflow)
        d = definition or WorkflowDef(name, lambda: None)
        item: dict[str, Any] = {"name": name}
        for key, value in (("queue", queue or d.queue), ("max_attempts", d.max_attempts),
                           ("priority", d.priority), ("max_lost_leases", d.max_lost_leases),
                           ("backoff_base", db.interval(d.backoff_base)),
                           ("backoff_max", db.interval(d.backoff_max))):
            if value is not None:
                item[key] = f"{value.total_seconds()} seconds" if key.startswith("backoff") else value
        items = [{**item, "input": list(args)} for args in arg_lists]
        rows = self._call(db.enqueue_batch, items, conn=conn)
        return [WorkflowHandle(self, wid, created) for wid, created in rows]

    def handle(self, workflow_id: str) -> WorkflowHandle:
        """A handle on an existing workflow run."""
        return WorkflowHandle(self, workflow_id, created=False)

    def set_queue(self, name: str, concurrency: int | None = None,
                  paused: bool | None = None) -> None:
        """durable.set_queue: create a queue or change only the settings given (None keeps a
        setting; concurrency 0 removes the limit). Raises BadArgument (DU011)."""
        self._call(db.set_queue, name, concurrency, paused)

    def cancel(self, workflow_id: str) -> str:
        """durable.cancel."""
        return self._call(db.cancel, workflow_id)

    def retry(self, workflow_id: str) -> str:
        """durable.retry."""
        return self._call(db.retry, workflow_id)
