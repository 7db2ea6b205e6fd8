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

    handle = app.start(order, "o-1")                      # WorkflowHandle[dict]
    handle = app.options(workflow_id="order-o-1").start(order, "o-1")
    handle.result(timeout=30)                             # a dict, for mypy too

app.start checks the arguments against the workflow's parameters (mypy, through ParamSpec; and
at run time, before anything is written, with inspect.signature(...).bind: TypeError); the
enqueue options go to app.options(...), since PEP 612 allows no keyword between *args: P.args
and **kwargs: P.kwargs. app.enqueue(workflow, *args, workflow_id=..., **kwargs) stays: its
options are keywords, the other keywords go to the workflow, and its arguments are checked when
called, not by mypy.

Inside a workflow, app.start and app.enqueue start a child workflow (a step,
durable.start_child) and the handle's result() is a durable wait (durable.await_children): see
durable.waiting.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Concatenate, Generic, Literal, ParamSpec, Protocol, TypeVar, cast, overload

import psycopg

from . import db, otel, runs, schedules, waiting
from .errors import InvalidValue, NotRegistered, WorkflowCancelled, workflow_error
from .execution import args_of, input_of, run_of_call
from .values import decode as decode_value
from .values import encode as encode_value
from .values import register as register_type

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
E = TypeVar("E", bound=BaseException)


def _check_definition(kind: str, name: str, fn: Callable[..., Any]) -> None:
    """Refuse at decoration what could only fail when run: generator and async generator
    functions (their value is a generator, never JSON), and names Postgres cannot store. async
    def functions are accepted (durable.aio runs them)."""
    if inspect.isasyncgenfunction(fn):
        raise TypeError(f"{kind} {name!r} is an async generator function: its value, an async "
                        "generator, is not JSON; return a list instead")
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


class Workflow(Protocol[P, R_co]):
    """What @app.workflow() returns, for type checkers: the function itself (calling it is a
    plain call), with its parameters P and return type R kept, and its WorkflowDef. app.start
    and app.options(...).start take it and check the arguments against P."""

    durable_workflow: WorkflowDef
    durable_async: Literal[False]
    __name__: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


class AsyncWorkflow(Protocol[P, R_co]):
    """What @app.workflow() returns for an async def function, for type checkers: calling it
    gives its coroutine (a plain call), and app.start, AsyncDurable.start and their handles
    know R, the value the coroutine returns, as the workflow's result type."""

    durable_workflow: WorkflowDef
    durable_async: Literal[True]
    __name__: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R_co]: ...


class WorkflowDecorator(Protocol):
    """What @app.workflow(...) returns: an async def function becomes an AsyncWorkflow[P, R],
    a def one a Workflow[P, R] (R: the workflow's result type either way)."""

    @overload
    def __call__(  # type: ignore[overload-overlap]
            self, fn: Callable[P, Coroutine[Any, Any, R]]) -> AsyncWorkflow[P, R]: ...

    @overload
    def __call__(self, fn: Callable[P, R]) -> Workflow[P, R]: ...


class TransactionDecorator(Protocol):
    """What @app.transaction() returns, for type checkers: a def step taking a
    psycopg.Connection first becomes a function of the other parameters returning its result;
    an async def one taking a psycopg.AsyncConnection first, a function of the other parameters
    returning its coroutine (awaited in an async workflow)."""

    @overload
    def __call__(self, fn: Callable[Concatenate[psycopg.AsyncConnection[Any], P],
                                    Coroutine[Any, Any, R]]
                 ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, fn: Callable[Concatenate[psycopg.Connection[Any], P], R]
                 ) -> Callable[P, R]: ...


class Args:
    """The arguments of one run, positional and keyword: Args(1, 2, mode="fast"). An item of
    app.enqueue_many's arg_lists, or the input of @app.schedule."""

    __slots__ = ("args", "kwargs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Args({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Args) and self.args == other.args
                and self.kwargs == other.kwargs)

    __hash__ = None  # type: ignore[assignment]  # mutable contents, as a list's


def _signature(fn: Callable[..., Any], drop_first: bool = False) -> inspect.Signature | None:
    """fn's signature (without its first parameter, the connection of a transactional step,
    when drop_first), or None when it cannot be read (a builtin): then nothing is checked."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if drop_first and params and params[0].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                                    inspect.Parameter.POSITIONAL_OR_KEYWORD):
        sig = sig.replace(parameters=params[1:])
    return sig


def check_arguments(kind: str, name: str, sig: inspect.Signature | None,
                    args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
    """Raise TypeError, as calling the function would, when args and kwargs do not fit sig
    (inspect.Signature.bind: too many or too few, an unknown or repeated keyword); the message
    names the workflow or step and its parameters."""
    if sig is None:
        return
    try:
        sig.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"{kind} {name!r} cannot take these arguments: {exc}; its parameters are "
                        f"{sig}") from None


def _check_schedule_input(definition: WorkflowDef, input: Any) -> None:
    """TypeError when a schedule's input (JSON, as args_of reads it) does not fit its
    workflow's parameters."""
    args, kwargs = args_of(input)
    check_arguments("workflow", definition.name, _signature(definition.fn), args, kwargs)


def _args_kwargs(item: Any, n: int) -> tuple[Sequence[Any], Mapping[str, Any]]:
    """An item of enqueue_many's arg_lists as (args, kwargs): Args, a mapping (keyword
    arguments) or a sequence (positional arguments); TypeError otherwise."""
    if isinstance(item, Args):
        return item.args, item.kwargs
    if isinstance(item, Mapping):
        bad = [k for k in item if not isinstance(k, str)]
        if bad:
            raise TypeError(f"arg_lists[{n}]: keyword argument names must be str, not {bad[0]!r}")
        return (), item
    if isinstance(item, Sequence) and not isinstance(item, (str, bytes)):
        return item, {}
    raise TypeError(f"arg_lists[{n}] must be a list of arguments, a mapping of keyword arguments "
                    f"or durable.Args(...), not {type(item).__name__}")


@dataclass(frozen=True)
class StartOptions:
    """Enqueue options bound by app.options(...): .start(workflow, *args, **kwargs) starts a run
    with them, its arguments checked against the workflow's parameters by mypy and at the call.
    None leaves an option to the workflow's decorator, then to the SQL's defaults. The options
    are app.enqueue's keywords (see there); inside workflow code the run is a child workflow
    and only workflow_id, queue, priority, timeout and detached apply (others: ValueError)."""

    app: Durable
    workflow_id: str | None = None
    queue: str | None = None
    delay: db.Seconds | None = None
    run_at: datetime | None = None
    priority: int | None = None
    max_attempts: int | None = None
    conn: psycopg.Connection[Any] | None = None
    timeout: db.Seconds | None = None
    detached: bool = False
    concurrency_key: str | None = None
    dedup_key: str | None = None
    if_exists: str | None = None

    def start(self, workflow: Workflow[P, R] | AsyncWorkflow[P, R], /, *args: P.args,
              **kwargs: P.kwargs) -> WorkflowHandle[R]:
        """Start workflow(*args, **kwargs) with these options: app.enqueue's one durable.enqueue
        call (inside workflow code a child workflow, one durable.start_child step). TypeError
        when the arguments do not fit the workflow's parameters, before anything is written."""
        name, definition = self.app._definition(workflow)
        return self.app._start(name, definition, args, kwargs, self)


class WorkflowHandle(runs.HandleQueries, Generic[R]):
    """A started workflow: ask its status, wait for its result (of type R, the workflow's
    return type), cancel it; read the run, its steps and errors (info, steps, errors:
    durable.runs)."""

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

    def result(self, timeout: float | None = None, poll: float = 5.0) -> R:
        """Wait until the workflow finishes and return its output, decoded (durable.values);
        raises the workflow's exception again (durable.errors.workflow_error: its own class
        when registered or importable, combined with WorkflowFailed; else WorkflowFailed; the
        recorded error in .error), WorkflowCancelled, or TimeoutError after timeout seconds
        (None: no limit); InvalidValue when the output cannot be decoded here.

        From a client: LISTEN durable_finished, then durable.watch (the result now, and a
        notification when it finishes), then sleep until a notification names this workflow,
        calling durable.watch again every poll seconds in case one was lost. Inside a workflow
        (the handle of a child it started): a durable wait, durable.await_children, one step
        that parks the run until the child finishes (no slot held); a timeout is then fixed
        when first reached. NotAChild (DU016) when the workflow is not a child of this one."""
        if run_of_call() is not None:
            return cast(R, waiting.await_child(self.workflow_id, timeout))
        res = self.app._wait_notified(
            db.FINISHED_CHANNEL, lambda payload: payload == self.workflow_id,
            lambda conn: _finished(db.watch(conn, self.workflow_id)), timeout, poll)
        if res is None:
            raise TimeoutError(f"workflow {self.workflow_id} is still {self.status()} after "
                               f"{timeout}s")
        if res.status == "succeeded":
            return cast(R, decode_value(res.output,
                                        f"the output of workflow {self.workflow_id}"))
        if res.status == "cancelled":
            raise WorkflowCancelled(self.workflow_id)
        raise workflow_error(self.workflow_id, res.error)

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


def _seconds_text(value: db.Seconds) -> str:
    """A number of seconds or a timedelta as the interval text durable.register and
    durable.enqueue_batch take ("1.5 seconds")."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return f"{seconds} seconds"


def _finished(res: db.Result) -> db.Result | None:
    return res if res.finished_at is not None else None


class Durable(runs.RunQueries):
    """The app: a DSN, the registry of workflows and steps, and a client connection; lists runs
    and errors (list_runs, iter_runs, list_errors: durable.runs)."""

    def __init__(self, dsn: str | None = None, *, version: str | None = None,
                 transaction_pooler: bool = False, listen_dsn: str | None = None):
        self.dsn = dsn
        # dsn goes through a transaction pooler (PgBouncer's pool_mode = transaction): nothing
        # is prepared on its connections; waits for results and events LISTEN on listen_dsn (a
        # direct connection string) when given, else poll (see _wait_notified)
        self.transaction_pooler = transaction_pooler
        self.listen_dsn = listen_dsn
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
    ) -> WorkflowDecorator:
        """Register a function as workflow name (default: the function's name).

        Returns the function itself (a plain call runs it as a plain function), typed as a
        Workflow[P, R] (an async def one: AsyncWorkflow[P, R], R the value its coroutine
        returns) that keeps its parameters and result type for app.start. Its arguments
        (positional and keyword) and return value are values (durable.values). The options are
        enqueue's defaults for it: the attempts and backoff of the whole workflow are applied by
        durable.fail;
        max_lost_leases (1..1000, default durable.settings.max_lost_leases, 3) is how many times
        its worker may die with it before it fails (a crash loop); timeout (seconds, more than
        0; default none) gives each run a deadline, its run_at + timeout, after which the SQL
        cancels it and its children (error type DeadlineExceeded). A worker registers them in
        the database (durable.register), so enqueue from psql, the CLI or another language gets
        them too. An async def workflow is run on the worker's event loop (durable.aio; its
        steps and waits are awaited); generator functions are refused (TypeError)."""

        def decorate(fn: Callable[..., Any]) -> Any:
            definition = WorkflowDef(name or fn.__name__, fn, queue, max_attempts, backoff_base,
                                     backoff_max, priority, max_lost_leases, timeout)
            _check_definition("workflow", definition.name, fn)
            if definition.name in self.workflows:
                raise ValueError(f"workflow {definition.name!r} is registered twice")
            for declared in self.schedules:  # @app.schedule put below @app.workflow()
                if declared.fn is fn:
                    _check_schedule_input(definition, declared.input)
            self.workflows[definition.name] = definition
            fn.durable_workflow = definition  # type: ignore[attr-defined]
            fn.durable_async = inspect.iscoroutinefunction(fn)  # type: ignore[attr-defined]
            return fn

        return cast(WorkflowDecorator, decorate)

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
        for several schedules of one workflow. input may also be durable.Args(...), positional
        and keyword arguments (stored as {"$args": [...], "$kwargs": {...}} when there are
        keyword arguments); the arguments are checked against the workflow's parameters when
        both decorators have run (TypeError)."""
        if missed not in schedules.MISSED:
            raise ValueError(f"missed must be one of {schedules.MISSED}, got {missed!r}")
        if isinstance(input, Args):
            input = input_of(input.args, input.kwargs)

        def decorate(fn: F) -> F:
            definition = getattr(fn, "durable_workflow", None)
            if isinstance(definition, WorkflowDef):  # @app.schedule put above @app.workflow()
                _check_schedule_input(definition, input)
            self.schedules.append(schedules.ScheduleDef(cron, fn, name, time_zone, missed, grace,
                                                        input, queue))
            return fn

        return decorate

    @overload
    def step(
        self,
        name: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: db.Seconds | None = None,
        backoff_max: db.Seconds | None = None,
        transactional: Literal[False] = False,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]: ...

    @overload
    def step(
        self,
        name: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: db.Seconds | None = None,
        backoff_max: db.Seconds | None = None,
        transactional: Literal[True],
    ) -> TransactionDecorator: ...

    @overload
    def step(
        self,
        name: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: db.Seconds | None = None,
        backoff_max: db.Seconds | None = None,
        transactional: bool,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...

    def step(
        self,
        name: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: db.Seconds | None = None,
        backoff_max: db.Seconds | None = None,
        transactional: bool = False,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a function as step name (default: the function's name).

        Called from a workflow it runs once: its output (a value: durable.values) is checkpointed and replayed on
        re-execution. A failed try (an exception, or an output that cannot be stored (durable.values) or
        that the SQL refuses, e.g. over max_payload_bytes) is reported to durable.step_failed,
        which decides whether it is retried: up to max_attempts tries, the n-th retry after a
        random wait between d/2 and d, where d = min(backoff_max, backoff_base * 2**(n-1))
        seconds (durable.backoff). A transactional step receives the worker's connection as its
        first argument; its writes commit in the same transaction as its checkpoint. Called
        outside a workflow, or by another step, it is a plain call. It keeps the function's
        signature for type checkers (a transactional step's without its first parameter), and
        arguments that do not fit it raise TypeError at the call, before the step runs or takes
        a position (positional and keyword arguments are both accepted; only the output is
        recorded). A step must be called from
        its workflow's own thread: called from a thread the workflow's code started (a thread
        pool), it raises WrongThread and the run fails. An async def step is awaited in an async
        workflow (its position is taken when it is called, so steps gathered together get
        positions in call order: durable.aio), and run to its end with asyncio.run in a sync
        one; a sync step in an async workflow is awaited too, run in a thread. Generator
        functions are refused (TypeError)."""

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            definition = StepDef(name or fn.__name__, fn, max_attempts, backoff_base,
                                 backoff_max, transactional)
            _check_definition("step", definition.name, fn)
            if definition.name in self.steps:
                raise ValueError(f"step {definition.name!r} is registered twice")
            self.steps[definition.name] = definition
            sig = _signature(fn, drop_first=transactional)

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                check_arguments("step", definition.name, sig, args, kwargs)
                run = run_of_call()
                if run is not None:
                    return run.step(definition, args, kwargs)
                if transactional:  # outside a workflow, or inside another step
                    if inspect.iscoroutinefunction(fn):
                        return self._plain_atransaction(fn, args, kwargs)
                    return self._plain_transaction(fn, args, kwargs)
                return fn(*args, **kwargs)

            wrapper.durable_step = definition  # type: ignore[attr-defined]
            return wrapper

        return decorate

    def transaction(
        self,
        name: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: db.Seconds | None = None,
        backoff_max: db.Seconds | None = None,
    ) -> TransactionDecorator:
        """Register a transactional step: step(..., transactional=True); callers leave out its
        first parameter, the connection. A def step gets the worker's psycopg.Connection (def
        workflows); an async def step gets a psycopg.AsyncConnection of its own (async
        workflows: durable.aio). Either way its writes and its checkpoint commit in one
        transaction, so they happen exactly once."""
        return self.step(name, max_attempts=max_attempts, backoff_base=backoff_base,
                         backoff_max=backoff_max, transactional=True)

    def register_exception(self, cls: type[E] | None = None, *,
                           name: str | None = None) -> Any:
        """Register an exception class (an Exception subclass), process-wide, so that a step's
        or workflow's exception of that class is raised again as that class: inside the
        workflow at the step's call, and by WorkflowHandle.result() (durable.errors.step_error,
        workflow_error). Unregistered classes are found by "module:QualName" when importable;
        register those that are not (defined inside a function, or in __main__ on one side
        only), or give name to keep the stored name when the class moves. Usable as a decorator
        (@app.register_exception or @app.register_exception(name=...)); returns the class.
        TypeError for a class that is not an Exception subclass; ValueError when name is taken
        by another class."""

        def register(exc_class: type[E]) -> type[E]:
            if not (isinstance(exc_class, type) and issubclass(exc_class, Exception)):
                raise TypeError(f"register_exception takes an Exception subclass, not "
                                f"{exc_class!r}")
            register_type(exc_class, name)
            return exc_class

        return register if cls is None else register(cls)

    def _plain_transaction(self, fn: Callable[..., Any], args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> Any:
        with db.connect(self.dsn, application_name="durable client",
                        prepare=not self.transaction_pooler) as conn, conn.transaction():
            return fn(conn, *args, **kwargs)

    async def _plain_atransaction(self, fn: Callable[..., Any], args: tuple[Any, ...],
                                  kwargs: dict[str, Any]) -> Any:
        """An async def transactional step called outside a workflow: awaited on a new
        AsyncConnection in a transaction of its own (committed when it returns)."""
        from .aio import connect

        async with await connect(self.dsn, application_name="durable async client") as conn, \
                conn.transaction():
            return await fn(conn, *args, **kwargs)

    # -- client ----------------------------------------------------------------------------------

    def connection(self) -> psycopg.Connection:
        """The app's own autocommit client connection (made on first use, remade when broken);
        the first one checks the schema's version (UnsupportedSchema)."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = db.connect(self.dsn, application_name="durable client",
                        prepare=not self.transaction_pooler)
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

    def _call(self, fn: Callable[..., R], *args: Any,
              conn: psycopg.Connection[Any] | None = None, **kwargs: Any) -> R:
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
            for key, seconds in (("backoff_base", d.backoff_base),
                                 ("backoff_max", d.backoff_max), ("timeout", d.timeout)):
                if seconds is not None:
                    item[key] = _seconds_text(seconds)
            items.append(item)
        return items

    def options(
        self,
        *,
        workflow_id: str | None = None,
        queue: str | None = None,
        delay: db.Seconds | None = None,
        run_at: datetime | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        conn: psycopg.Connection[Any] | None = None,
        timeout: db.Seconds | None = None,
        detached: bool = False,
        concurrency_key: str | None = None,
        dedup_key: str | None = None,
        if_exists: str | None = None,
    ) -> StartOptions:
        """Enqueue options for a typed start: app.options(workflow_id=..., queue=...).start(
        workflow, *args, **kwargs). The options are app.enqueue's keywords, with the same
        meaning and errors; nothing is sent until .start."""
        return StartOptions(self, workflow_id, queue, delay, run_at, priority, max_attempts, conn,
                            timeout, detached, concurrency_key, dedup_key, if_exists)

    def start(self, workflow: Workflow[P, R] | AsyncWorkflow[P, R], /, *args: P.args,
              **kwargs: P.kwargs) -> WorkflowHandle[R]:
        """Start workflow(*args, **kwargs) with the decorator's defaults: one durable.enqueue
        call (inside workflow code a child workflow: one durable.start_child step), returning a
        WorkflowHandle[R] whose result() is the workflow's return value. Every keyword is the
        workflow's (options go to app.options(...).start). mypy checks the arguments against
        the workflow's parameters; at the call, arguments that do not fit them raise TypeError
        before anything is written (inspect.Signature.bind)."""
        name, definition = self._definition(workflow)
        return self._start(name, definition, args, kwargs, StartOptions(self))

    @overload
    def enqueue(
        self,
        workflow: Workflow[..., R] | AsyncWorkflow[..., R],
        *args: Any,
        workflow_id: str | None = None,
        queue: str | None = None,
        delay: db.Seconds | None = None,
        run_at: datetime | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        conn: psycopg.Connection[Any] | None = None,
        timeout: db.Seconds | None = None,
        detached: bool = False,
        concurrency_key: str | None = None,
        dedup_key: str | None = None,
        if_exists: str | None = None,
        **kwargs: Any,
    ) -> WorkflowHandle[R]: ...

    @overload
    def enqueue(
        self,
        workflow: str,
        *args: Any,
        workflow_id: str | None = None,
        queue: str | None = None,
        delay: db.Seconds | None = None,
        run_at: datetime | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        conn: psycopg.Connection[Any] | None = None,
        timeout: db.Seconds | None = None,
        detached: bool = False,
        concurrency_key: str | None = None,
        dedup_key: str | None = None,
        if_exists: str | None = None,
        **kwargs: Any,
    ) -> WorkflowHandle[Any]: ...

    def enqueue(
        self,
        workflow: Workflow[..., Any] | AsyncWorkflow[..., Any] | str,
        *args: Any,
        workflow_id: str | None = None,
        queue: str | None = None,
        delay: db.Seconds | None = None,
        run_at: datetime | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        conn: psycopg.Connection[Any] | None = None,
        timeout: db.Seconds | None = None,
        detached: bool = False,
        concurrency_key: str | None = None,
        dedup_key: str | None = None,
        if_exists: str | None = None,
        **kwargs: Any,
    ) -> WorkflowHandle[Any]:
        """Start workflow (a decorated function or a name) with args and kwargs: one
        durable.enqueue call. The keywords named here are options; any other keyword is the
        workflow's (a workflow parameter named like an option is reached with app.start). The
        arguments of a workflow registered in this app are checked against its parameters
        before anything is written (TypeError); mypy checks only the return type here: app.start
        and app.options(...).start check the arguments too.

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
        another input (InputConflict, DU018) instead of returning that run. The input stored is
        the array of the positional arguments, or {"$args": [...], "$kwargs": {...}} when
        keyword arguments are given.

        Inside a workflow's code it starts a child workflow instead: one step
        (durable.start_child) whose outcome is the child's id (workflow_id, else
        "<parent id>-<step position>"), so a replay finds the same child; the child's deadline
        is the parent's or timeout from now when sooner, cancelling the parent cancels the
        child unless detached=True, and the handle's result() is a durable wait. delay, run_at,
        max_attempts, conn and the keys are refused there (ValueError); detached has no effect
        outside a workflow. Inside a step, app.enqueue is a plain client call, as outside."""
        name, definition = self._definition(workflow)
        options = StartOptions(self, workflow_id, queue, delay, run_at, priority, max_attempts,
                               conn, timeout, detached, concurrency_key, dedup_key, if_exists)
        return self._start(name, definition, args, kwargs, options)

    def _start(self, name: str, definition: WorkflowDef | None, args: Sequence[Any],
               kwargs: Mapping[str, Any], o: StartOptions) -> WorkflowHandle[Any]:
        """One run of workflow name: arguments checked, then durable.enqueue, or inside workflow
        code durable.start_child."""
        d = definition or WorkflowDef(name, lambda: None)
        if definition is not None:
            check_arguments("workflow", name, _signature(definition.fn), args, kwargs)
        input = input_of(args, kwargs)
        if run_of_call() is not None:
            given = [k for k, v in (("delay", o.delay), ("run_at", o.run_at),
                                    ("max_attempts", o.max_attempts), ("conn", o.conn),
                                    ("concurrency_key", o.concurrency_key),
                                    ("dedup_key", o.dedup_key), ("if_exists", o.if_exists))
                     if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: not an option of a child workflow "
                                 "(app.enqueue inside a workflow starts one with "
                                 "durable.start_child)")
            child_id = waiting.start_child(
                name, input, child_id=o.workflow_id, queue=o.queue or d.queue,
                priority=o.priority if o.priority is not None else d.priority,
                timeout=o.timeout if o.timeout is not None else d.timeout, detached=o.detached)
            # an awaitable in an async workflow (durable.aio)
            return waiting.then(child_id, lambda cid: WorkflowHandle(self, cid, True))
        workflow_id, created = self._call(
            db.enqueue, name, input, conn=o.conn,
            queue=o.queue or d.queue, workflow_id=o.workflow_id,
            priority=o.priority if o.priority is not None else d.priority,
            run_at=o.run_at, delay=o.delay,
            max_attempts=o.max_attempts if o.max_attempts is not None else d.max_attempts,
            backoff_base=d.backoff_base, backoff_max=d.backoff_max,
            max_lost_leases=d.max_lost_leases,
            timeout=o.timeout if o.timeout is not None else d.timeout,
            concurrency_key=o.concurrency_key, dedup_key=o.dedup_key, if_exists=o.if_exists,
            trace_context=otel.traceparent(),  # the caller's span, when tracing (durable.otel)
        )
        return WorkflowHandle(self, workflow_id, created)

    @overload
    def enqueue_many(
        self,
        workflow: Workflow[..., R] | AsyncWorkflow[..., R],
        arg_lists: Sequence[Sequence[Any] | Mapping[str, Any] | Args],
        *,
        queue: str | None = None,
        conn: psycopg.Connection[Any] | None = None,
        timeout: db.Seconds | None = None,
        workflow_ids: Sequence[str] | None = None,
        concurrency_key: str | Sequence[str | None] | None = None,
        dedup_key: str | Sequence[str | None] | None = None,
        if_exists: str | None = None,
    ) -> list[WorkflowHandle[R]]: ...

    @overload
    def enqueue_many(
        self,
        workflow: str,
        arg_lists: Sequence[Sequence[Any] | Mapping[str, Any] | Args],
        *,
        queue: str | None = None,
        conn: psycopg.Connection[Any] | None = None,
        timeout: db.Seconds | None = None,
        workflow_ids: Sequence[str] | None = None,
        concurrency_key: str | Sequence[str | None] | None = None,
        dedup_key: str | Sequence[str | None] | None = None,
        if_exists: str | None = None,
    ) -> list[WorkflowHandle[Any]]: ...

    def enqueue_many(
        self,
        workflow: Workflow[..., Any] | AsyncWorkflow[..., Any] | str,
        arg_lists: Sequence[Sequence[Any] | Mapping[str, Any] | Args],
        *,
        queue: str | None = None,
        conn: psycopg.Connection[Any] | None = None,
        timeout: db.Seconds | None = None,
        workflow_ids: Sequence[str] | None = None,
        concurrency_key: str | Sequence[str | None] | None = None,
        dedup_key: str | Sequence[str | None] | None = None,
        if_exists: str | None = None,
    ) -> list[WorkflowHandle[Any]]:
        """Start one run of workflow per item of arg_lists, in one durable.enqueue_batch call.
        An item is a list of positional arguments, a mapping of keyword arguments, or
        durable.Args(*args, **kwargs) for both; each is checked against the workflow's
        parameters before anything is written (TypeError naming the item's index), and stored
        as enqueue stores its input. timeout: as enqueue's (item key "timeout"). workflow_ids,
        and concurrency_key and dedup_key when given as sequences, have one entry per item (a
        str: the same for all); they and if_exists are enqueue's (a dedup key twice in the
        batch refuses it whole, DU019). Inside a workflow's code it starts one child per item
        instead, all in one step (durable.start_children: one call and one commit for the lot,
        ids "<parent id>-<step position>-<n>", n from 1; otherwise as enqueue's children)."""
        name, definition = self._definition(workflow)
        d = definition or WorkflowDef(name, lambda: None)
        sig = None if definition is None else _signature(definition.fn)
        inputs = []
        for n, one in enumerate(arg_lists):
            args, kwargs = _args_kwargs(one, n)
            try:
                check_arguments("workflow", name, sig, args, kwargs)
            except TypeError as exc:
                raise TypeError(f"arg_lists[{n}]: {exc}") from None
            inputs.append(input_of(args, kwargs))
        per_list = {"workflow_id": workflow_ids, "concurrency_key": concurrency_key,
                    "dedup_key": dedup_key}
        if run_of_call() is not None:
            if conn is not None or any(v is not None for v in per_list.values()) or if_exists:
                raise ValueError("conn, workflow_ids, the keys and if_exists: not options of a "
                                 "child workflow")
            # one step for all of them (durable.start_children)
            ids = waiting.start_children([
                {"name": name, "input": input, "queue": queue or d.queue,
                 "priority": d.priority, "timeout": timeout if timeout is not None else d.timeout}
                for input in inputs])
            return waiting.then(ids, lambda ids: [WorkflowHandle(self, child_id, True)
                                                   for child_id in ids])
        item: dict[str, Any] = {"name": name}
        for key, value in (("queue", queue or d.queue), ("max_attempts", d.max_attempts),
                           ("priority", d.priority), ("max_lost_leases", d.max_lost_leases)):
            if value is not None:
                item[key] = value
        for key, seconds in (("backoff_base", d.backoff_base), ("backoff_max", d.backoff_max),
                             ("timeout", timeout if timeout is not None else d.timeout)):
            if seconds is not None:
                item[key] = _seconds_text(seconds)
        if if_exists is not None:
            item["if_exists"] = if_exists
        if (trace_context := otel.traceparent()) is not None:  # the caller's span (durable.otel)
            item["trace_context"] = trace_context
        items = [{**item, "input": input} for input in inputs]
        for key, values in per_list.items():
            if values is None:
                continue
            if isinstance(values, str):
                values = [values] * len(items)
            if len(values) != len(items):
                raise ValueError(f"{key}: {len(values)} given for {len(items)} argument lists")
            for one_item, value in zip(items, values):
                if value is not None:
                    one_item[key] = value
        rows = self._call(db.enqueue_batch, items, conn=conn)
        return [WorkflowHandle(self, wid, created) for wid, created in rows]

    def handle(self, workflow_id: str) -> WorkflowHandle[Any]:
        """A handle on an existing workflow run."""
        return WorkflowHandle(self, workflow_id, created=False)

    # -- messages and events ---------------------------------------------------------------------

    def send(self, destination: str, message: Any, topic: str = "default",
             idempotency_key: str | None = None, *,
             conn: psycopg.Connection | None = None) -> int:
        """durable.send: message (a value: durable.values) on topic (default "default") to
        workflow destination, which receives it with durable.recv(topic), oldest first, each
        message once; it wakes the destination when it waits for that topic. Returns the
        message id; the same idempotency_key (1..200 characters) to the same destination again
        returns the first message's id and sends nothing. With conn, in the caller's
        transaction. Raises UnknownWorkflow (DU003), AlreadyFinished (DU013: the destination
        finished), PayloadTooLarge (DU008), BadArgument (DU011), InvalidValue (a value it
        cannot store, before anything is sent). Inside workflow code use durable.send, a
        step."""
        data = encode_value(message, "the message")
        return self._call(db.send, destination, data, topic, idempotency_key, conn=conn)

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
        return None if event is None else decode_value(event.value, "the event's value")

    def _listener(self) -> psycopg.Connection:
        """This thread's LISTEN connection (made on first use, remade when broken)."""
        conn = getattr(self._listeners, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = (db.connect(self.listen_dsn, application_name="durable client listener")
                    if self.listen_dsn else
                    db.connect(self.dsn, application_name="durable client listener",
                               prepare=not self.transaction_pooler))
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
        if self.transaction_pooler and not self.listen_dsn:
            return self._wait_polled(check, deadline, poll)
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

    def _wait_polled(self, check: Callable[[psycopg.Connection], Any], deadline: float | None,
                     poll: float) -> Any:
        """_wait_notified without LISTEN (through a transaction pooler with no listen_dsn: a
        LISTEN there would be heard on whichever server connection ran it): check on the
        client's connection, at once and then after pauses that grow from 0.05 s to poll
        seconds; None when deadline (time.monotonic()) passes first."""
        pause = 0.05
        while True:
            value = self._call(check)
            if value is not None:
                return value
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            time.sleep(pause if left is None else min(pause, left))
            pause = min(pause * 2, poll)

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
             version: str | None = None) -> WorkflowHandle[Any]:
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
