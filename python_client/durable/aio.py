"""asyncio: async workflows and steps, the async client (AsyncDurable) and the async runner.

    app = Durable(dsn)                      # one registry for sync and async code

    @app.step()
    async def fetch(url: str) -> dict: ...  # async def steps and workflows are registered as
                                            # the sync ones are
    @app.workflow()
    async def crawl(urls: list[str]) -> list[dict]:
        pages = await asyncio.gather(*(fetch(u) for u in urls))   # steps started together
        await durable.sleep(60)                                   # waits are awaitables here
        return pages

    client = AsyncDurable(app)              # the async client, sharing app's registry
    handle = await client.start(crawl, ["https://..."])   # AsyncWorkflowHandle[list[dict]]
    pages = await handle.result(timeout=60)                 # a list[dict], for mypy too

One source of SQL for sync and async (the sans-I/O way): every statement is built and its rows
read by the sync functions of durable.db; `call(aconn, fn, ...)` runs such a function against a
stand-in connection that hands each statement out instead of sending it, sends it on the
psycopg AsyncConnection, and runs the function again with the rows (one round trip per
statement, as the sync client; the function's argument checks run twice). So the async client
and the async runner call the same `durable.*` functions with the same arguments as the sync
ones, and no SQL is written twice.

Positions of steps started together: a step's position is taken when its coroutine is created
(the call `fetch(u)`, before any await), in call order, so `asyncio.gather(a(), b())` gives a
the next position and b the one after, whatever order they run or finish in, on every replay.
Each is checkpointed (durable.checkpoint, keyed by its position) as it finishes, so a crash in
the middle keeps those recorded and runs only the others again. Waits (durable.sleep, recv,
get_event, wait_all, a child's result) take their position the same way; one that parks the
run parks all of it: the steps still running beside it are cancelled, not recorded, and run
again when the run resumes.

The runner (used by durable.Worker for the async workflows of its app) runs every async run as
a task of one event loop in one thread, beside the worker's slot threads, and sends their
statements on a small set of shared connections (async_connections, default 8) in libpq's
pipeline mode (_Pipe): each statement goes out the moment a run asks for it, with its own Sync,
so the statements of many runs are in flight on one connection at once and each commits or
fails on its own; one reader callback per connection hands the answers out in order. Every
worker call carries the run's lease, so the SQL fences it whichever connection carries it, and
a statement whose connection was lost is sent again on another under the same lease. A run
waiting in a step (awaiting I/O) holds no connection. An async def transactional step gets a
connection of its own for its transaction (AsyncRun._transactional).

Typing: @app.workflow() on an async def gives an AsyncWorkflow[P, R] (R: the coroutine's
value); AsyncDurable.start / options(...).start check the arguments against P (ParamSpec) and
return an AsyncWorkflowHandle[R], whose `await result()` is an R.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast, overload

import psycopg
from psycopg.adapt import Transformer
from psycopg.rows import dict_row, tuple_row

from . import db, otel, values, waiting
from .errors import (
    Cancelled,
    DurableError,
    InvalidValue,
    LeaseLost,
    Nondeterminism,
    Parked,
    Stopped,
    WorkflowCancelled,
    WrongThread,
    step_error,
    translate,
    workflow_error,
)
from .execution import (
    _REFUSED,
    _RESENDS,
    _SEND_AGAIN,
    _SHORT_MESSAGE_LIMIT,
    NonRetryable,
    StepInfo,
    _AlreadyRecorded,
    _outcome,
    _run,
    _step,
    _StepRaised,
    as_jsonb,
    encoded,
    error_json,
    run_of_call,
    short_errors,
    unbindable,
)

if TYPE_CHECKING:
    from typing_extensions import Self

    from .app import Args, AsyncWorkflow, Durable, StepDef, Workflow, WorkflowHandle

log = logging.getLogger("durable.aio")

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

# -- the sans-I/O shell: durable.db's sync calls on an AsyncConnection ----------------------------


class _Ask(Exception):
    """Internal: the stand-in connection was asked for a statement it has no rows for yet."""

    def __init__(self, sql: Any, params: Any, row_factory: Any):
        super().__init__("statement to send")
        self.sql = sql
        self.params = params
        self.row_factory = row_factory


class _Answered:
    """What the stand-in connection gives back for one statement: its rows, or its error."""

    __slots__ = ("error", "rows")

    def __init__(self, rows: list[Any] | None, error: BaseException | None):
        self.rows = rows
        self.error = error


class _ScriptCursor:
    def __init__(self, conn: _ScriptConn, row_factory: Any):
        self.connection = conn
        self.row_factory = row_factory
        self.closed = False
        self._rows: list[Any] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True

    def execute(self, sql: Any, params: Any = None) -> _ScriptCursor:
        answer = self.connection._next(sql, params, self.row_factory)
        if answer.error is not None:
            raise answer.error
        self._rows = answer.rows or []
        return self

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None


class _ScriptConn:
    """A stand-in for the psycopg.Connection that durable.db's functions take: the statements
    it is asked for are answered from answers, in order, and the first one beyond them raises
    _Ask (to be sent for real). Its state (autocommit, transaction status) is the real
    connection's, so that db's lock-timeout retries decide as they would on it."""

    def __init__(self, real: psycopg.AsyncConnection[Any], answers: list[_Answered]):
        self._real = real
        self._answers = answers
        self._n = 0

    @property
    def autocommit(self) -> bool:
        return self._real.autocommit

    @property
    def info(self) -> Any:
        return self._real.info

    @property
    def closed(self) -> bool:
        return self._real.closed

    @property
    def broken(self) -> bool:
        return self._real.broken

    def _next(self, sql: Any, params: Any, row_factory: Any) -> _Answered:
        n, self._n = self._n, self._n + 1
        if n < len(self._answers):
            return self._answers[n]
        raise _Ask(sql, params, row_factory)

    def cursor(self, row_factory: Any = None) -> _ScriptCursor:
        return _ScriptCursor(self, row_factory)

    def execute(self, sql: Any, params: Any = None) -> _ScriptCursor:
        return self.cursor().execute(sql, params)


async def call(aconn: psycopg.AsyncConnection[Any], fn: Callable[..., T], *args: Any,
               **kwargs: Any) -> T:
    """fn(conn, *args, **kwargs), a sync function of durable.db (or one that calls them), run
    on the AsyncConnection aconn: each statement it makes is sent on aconn (one round trip
    each, as the sync call makes) and its rows or error handed back to it. A lost connection
    raises psycopg.OperationalError (with aconn broken or closed); the SQL's refusals come out
    as fn would raise them on a sync connection (DU errors as durable.errors classes)."""
    answers: list[_Answered] = []
    while True:
        try:
            return fn(_ScriptConn(aconn, answers), *args, **kwargs)
        except _Ask as ask:
            answers.append(await _send(aconn, ask))


_TUPLES_OK = psycopg.pq.ExecStatus.TUPLES_OK
_FATAL_ERROR = psycopg.pq.ExecStatus.FATAL_ERROR
_PIPELINE_SYNC = psycopg.pq.ExecStatus.PIPELINE_SYNC
_CONN_OK = psycopg.pq.ConnStatus.OK


async def _send(aconn: psycopg.AsyncConnection[Any], ask: _Ask) -> _Answered:
    # one cursor per row factory kept with the connection (a new cursor per statement costs
    # more CPU than the rest of the call, as durable.db._hot found for the sync worker)
    cursors = aconn.__dict__.setdefault("_durable_cursors", {})
    factory = ask.row_factory or tuple_row
    cur = cursors.get(factory)
    if cur is None or cur.closed:
        cur = cursors[factory] = aconn.cursor(row_factory=factory)
    try:
        await cur.execute(ask.sql, ask.params)
        result = cur.pgresult  # (cur.description would build column objects each time)
        rows = await cur.fetchall() if result is not None and result.status == _TUPLES_OK else []
        return _Answered(rows, None)
    except psycopg.Error as exc:
        if aconn.closed or aconn.broken:
            raise
        return _Answered(None, exc)


class _PipeScript(_ScriptConn):
    """The stand-in connection over a _Pipe: not in autocommit as durable.db sees it, so that
    durable.db raises a lock timeout instead of sleeping on it (the runner awaits the pause)."""

    def __init__(self, pipe: _Pipe, answers: list[_Answered]):
        self._pipe = pipe
        self._answers = answers
        self._n = 0

    @property
    def autocommit(self) -> bool:
        return False

    @property
    def info(self) -> Any:
        return _PipeInfo(self._pipe.conn)

    @property
    def closed(self) -> bool:
        return self._pipe.lost is not None

    @property
    def broken(self) -> bool:
        return self._pipe.lost is not None


async def _pipe_call(pipe: _Pipe, fn: Callable[..., T], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> T:
    """fn(conn, *args, **kwargs) of durable.db with its statements sent on pipe (see call)."""
    answers: list[_Answered] = []
    while True:
        try:
            return fn(_PipeScript(pipe, answers), *args, **kwargs)
        except _Ask as ask:
            try:
                sql = pipe.mogrifier.mogrify(ask.sql, ask.params).encode(pipe.conn.info.encoding)
            except (psycopg.Error, UnicodeEncodeError) as exc:  # refused before it is sent
                answers.append(_Answered(None, exc))
                continue
            result, error = await pipe.send(sql)
            if error is not None:
                answers.append(_Answered(None, error))
            else:
                answers.append(_Answered(pipe.rows(result, ask.row_factory), None))


async def connect(dsn: str | None = None, *, application_name: str = "durable async"
                  ) -> psycopg.AsyncConnection[Any]:
    """A new AsyncConnection set up as durable.db.connect sets up a sync one (autocommit, the
    same loaders)."""
    conn = await psycopg.AsyncConnection.connect(db.resolve_dsn(dsn), autocommit=True,
                                                 application_name=application_name[:63])
    db.configure(conn)  # type: ignore[arg-type]
    return conn


# -- the async client -----------------------------------------------------------------------------


class AsyncWorkflowHandle(Generic[R]):
    """A started workflow, for async code: await its status, its result (of type R, the
    workflow's return type: an async def workflow's awaited value), cancel it."""

    def __init__(self, client: AsyncDurable, workflow_id: str, created: bool = True):
        self.client = client
        self.workflow_id = workflow_id
        self.created = created

    def __repr__(self) -> str:
        return f"AsyncWorkflowHandle({self.workflow_id!r})"

    async def get(self) -> db.Result:
        """durable.result now: status, output, error, attempt, timestamps."""
        return await self.client._call(db.result, self.workflow_id)

    async def status(self) -> str:
        """The workflow's status now (pending, running, waiting, succeeded, failed,
        cancelled)."""
        return (await self.get()).status

    async def result(self, timeout: float | None = None, poll: float = 5.0) -> R:
        """Wait until the workflow finishes and return its output, as WorkflowHandle.result:
        WorkflowFailed, WorkflowCancelled, or TimeoutError after timeout seconds (None: no
        limit). From a client: durable.watch, then a wait on the client's one shared LISTEN
        connection for durable_finished naming this workflow (and durable.watch again every poll
        seconds). Inside an async workflow (a child it started): a durable wait
        (durable.await_children)."""
        if run_of_call() is not None:
            return cast(R, await waiting.await_child(self.workflow_id, timeout))
        res = await self.client._wait_notified(
            db.FINISHED_CHANNEL, lambda payload: payload == self.workflow_id,
            lambda: self._finished(), timeout, poll)
        if res is None:
            raise TimeoutError(f"workflow {self.workflow_id} is still {await self.status()} "
                               f"after {timeout}s")
        if res.status == "succeeded":
            return cast(R, values.decode(res.output,
                                         f"the output of workflow {self.workflow_id}"))
        if res.status == "cancelled":
            raise WorkflowCancelled(self.workflow_id)
        raise workflow_error(self.workflow_id, res.error)

    async def _finished(self) -> db.Result | None:
        res = await self.client._call(db.watch, self.workflow_id)
        return res if res.finished_at is not None else None

    async def cancel(self) -> str:
        """durable.cancel this workflow."""
        return await self.client._call(db.cancel, self.workflow_id)


class _Waiter:
    __slots__ = ("channel", "event", "matches")

    def __init__(self, channel: str, matches: Callable[[str], bool]):
        self.channel = channel
        self.matches = matches
        self.event = asyncio.Event()


class AsyncDurable:
    """The async client: the calls of Durable's client side as coroutines, on psycopg's
    AsyncConnection, each the same durable.* function call (one round trip) as the sync one.

    AsyncDurable(app) shares app's registry and DSN: workflows and steps decorated on app (or
    on this client: workflow, step, transaction and schedule are app's) are run by
    durable.Worker(app) and started from here by name or function. AsyncDurable(dsn) makes an
    app of its own. It holds two connections, made on first use: one for its calls (they take
    turns on it) and one that LISTENs for every result() and get_event() waiting in it at
    once. Use it from one event loop; close() (or `async with`) closes them."""

    def __init__(self, app: Durable | str | None = None):
        from .app import Durable

        self.app: Durable = app if isinstance(app, Durable) else Durable(app)
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock: asyncio.Lock | None = None
        self._listen_conn: psycopg.AsyncConnection[Any] | None = None
        self._listen_task: asyncio.Task[None] | None = None
        self._listen_lock: asyncio.Lock | None = None
        self._waiters: set[_Waiter] = set()

    # the registry is the app's
    def workflow(self, *args: Any, **kwargs: Any) -> Any:
        """app.workflow: register a workflow (def or async def)."""
        return self.app.workflow(*args, **kwargs)

    def step(self, *args: Any, **kwargs: Any) -> Any:
        """app.step: register a step (def or async def)."""
        return self.app.step(*args, **kwargs)

    def transaction(self, *args: Any, **kwargs: Any) -> Any:
        """app.transaction: register a transactional step."""
        return self.app.transaction(*args, **kwargs)

    def schedule(self, *args: Any, **kwargs: Any) -> Any:
        """app.schedule: run a workflow on a cron schedule."""
        return self.app.schedule(*args, **kwargs)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connection(self) -> psycopg.AsyncConnection[Any]:
        """The client's own autocommit AsyncConnection (made on first use, remade when broken;
        the app's first connection checks the schema's version: UnsupportedSchema)."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = await connect(self.app.dsn, application_name="durable async client")
            try:
                await call(conn, self.app._check_schema)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _call(self, fn: Callable[..., T], *args: Any,
                    conn: psycopg.AsyncConnection[Any] | None = None, **kwargs: Any) -> T:
        """fn(conn, ...) (a durable.db call, or a Durable method given its conn) on conn or on
        the client's connection."""
        if conn is not None:
            await call(conn, self.app._check_schema)
            return await call(conn, fn, *args, **kwargs)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            return await call(await self.connection(), fn, *args, **kwargs)

    async def close(self) -> None:
        """Close the client's connections (and stop its LISTEN reader)."""
        if self._listen_task is not None:
            self._listen_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listen_task  # its end: cancelled, or its connection lost
            self._listen_task = None
        for conn in (self._conn, self._listen_conn):
            if conn is not None:
                await conn.close()
        self._conn = self._listen_conn = None

    # -- starting workflows ----------------------------------------------------------------------

    def options(
        self,
        *,
        workflow_id: str | None = None,
        queue: str | None = None,
        delay: db.Seconds | None = None,
        run_at: datetime | None = None,
        priority: int | None = None,
        max_attempts: int | None = None,
        conn: psycopg.AsyncConnection[Any] | None = None,
        timeout: db.Seconds | None = None,
        detached: bool = False,
        concurrency_key: str | None = None,
        dedup_key: str | None = None,
        if_exists: str | None = None,
    ) -> AsyncStartOptions:
        """Enqueue options for a typed start: await client.options(workflow_id=...).start(
        workflow, *args, **kwargs). app.options's keywords, with conn an AsyncConnection (the
        caller's transaction); nothing is sent until .start."""
        return AsyncStartOptions(self, workflow_id, queue, delay, run_at, priority,
                                 max_attempts, conn, timeout, detached, concurrency_key,
                                 dedup_key, if_exists)

    async def start(self, workflow: Workflow[P, R] | AsyncWorkflow[P, R], /, *args: P.args,
                    **kwargs: P.kwargs) -> AsyncWorkflowHandle[R]:
        """Start workflow(*args, **kwargs) (async def or def) with its decorator's defaults:
        app.start's one durable.enqueue call, awaited; returns an AsyncWorkflowHandle[R] whose
        `await result()` is the workflow's return value (an async def workflow's awaited
        value). Every keyword is the workflow's (options: client.options(...).start). mypy
        checks the arguments against the workflow's parameters; at the call, arguments that
        do not fit raise TypeError before anything is written. Inside an async workflow it
        starts a child (one step, durable.start_child)."""
        return await AsyncStartOptions(self).start(workflow, *args, **kwargs)

    @overload
    async def enqueue(self, workflow: Workflow[..., R] | AsyncWorkflow[..., R], *args: Any,
                      conn: psycopg.AsyncConnection[Any] | None = None,
                      **options: Any) -> AsyncWorkflowHandle[R]: ...

    @overload
    async def enqueue(self, workflow: str, *args: Any,
                      conn: psycopg.AsyncConnection[Any] | None = None,
                      **options: Any) -> AsyncWorkflowHandle[Any]: ...

    async def enqueue(self, workflow: Workflow[..., Any] | AsyncWorkflow[..., Any] | str,
                      *args: Any,
                      conn: psycopg.AsyncConnection[Any] | None = None,
                      **options: Any) -> AsyncWorkflowHandle[Any]:
        """Start workflow (a registered function or a name) with args: Durable.enqueue's options
        and checks, one durable.enqueue call (the return type is the workflow's; the arguments
        are checked at the call, by mypy only with start). With conn (an AsyncConnection) it
        runs on the caller's connection, in the caller's transaction if one is open. Inside an
        async workflow it starts a child (one step, durable.start_child)."""
        if run_of_call() is not None:
            if conn is not None:
                options["conn"] = conn  # refused there (ValueError), as app.enqueue's
            handle = await cast("Awaitable[WorkflowHandle[Any]]",
                                self.app.enqueue(workflow, *args, **options))
            return AsyncWorkflowHandle(self, handle.workflow_id, handle.created)
        handle = await self._call(_app_call, self.app.enqueue, workflow, *args, conn=conn,
                                  **options)
        return AsyncWorkflowHandle(self, handle.workflow_id, handle.created)

    @overload
    async def enqueue_many(self, workflow: Workflow[..., R] | AsyncWorkflow[..., R],
                           arg_lists: Sequence[Sequence[Any] | Mapping[str, Any] | Args], *,
                           conn: psycopg.AsyncConnection[Any] | None = None,
                           **options: Any) -> list[AsyncWorkflowHandle[R]]: ...

    @overload
    async def enqueue_many(self, workflow: str,
                           arg_lists: Sequence[Sequence[Any] | Mapping[str, Any] | Args], *,
                           conn: psycopg.AsyncConnection[Any] | None = None,
                           **options: Any) -> list[AsyncWorkflowHandle[Any]]: ...

    async def enqueue_many(self, workflow: Workflow[..., Any] | AsyncWorkflow[..., Any] | str,
                           arg_lists: Sequence[Sequence[Any] | Mapping[str, Any] | Args], *,
                           conn: psycopg.AsyncConnection[Any] | None = None,
                           **options: Any) -> list[AsyncWorkflowHandle[Any]]:
        """Start one run of workflow per item of arg_lists (a list of positional arguments, a
        mapping of keyword arguments, or durable.Args): Durable.enqueue_many's options, one
        durable.enqueue_batch call (inside an async workflow: one durable.start_children
        step)."""
        if run_of_call() is not None:
            if conn is not None:
                options["conn"] = conn  # refused there (ValueError), as app.enqueue_many's
            handles = await cast("Awaitable[list[WorkflowHandle[Any]]]",
                                 self.app.enqueue_many(workflow, arg_lists, **options))
        else:
            handles = await self._call(_app_call, self.app.enqueue_many, workflow, arg_lists,
                                       conn=conn, **options)
        return [AsyncWorkflowHandle(self, h.workflow_id, h.created) for h in handles]

    def handle(self, workflow_id: str) -> AsyncWorkflowHandle[Any]:
        """A handle on an existing workflow run."""
        return AsyncWorkflowHandle(self, workflow_id, created=False)

    # -- messages, events, control ---------------------------------------------------------------

    async def send(self, destination: str, message: Any, topic: str = "default",
                   idempotency_key: str | None = None, *,
                   conn: psycopg.AsyncConnection[Any] | None = None) -> int:
        """durable.send, as Durable.send (returns the message id; same errors)."""
        data = values.encode(message, "the message")
        return await self._call(db.send, destination, data, topic, idempotency_key,
                                conn=conn)

    async def get_event(self, workflow_id: str, key: str, timeout: float | None = None,
                        poll: float = 5.0) -> Any:
        """As Durable.get_event: the latest value of event key of workflow_id, waiting for it to
        be set (on the client's shared LISTEN connection); None after timeout seconds (None: no
        limit; 0: do not wait). Raises UnknownWorkflow (DU003)."""

        def matches(payload: str) -> bool:
            try:
                note = json.loads(payload)
            except ValueError:
                return False
            return (isinstance(note, dict) and note.get("workflow_id") == workflow_id
                    and note.get("key") == key)

        async def check() -> db.EventValue | None:
            event = await self._call(db.get_event, workflow_id, key)
            return event if event.found else None

        event = await self._wait_notified(db.EVENT_CHANNEL, matches, check, timeout, poll)
        return None if event is None else values.decode(event.value, "the event's value")

    async def cancel(self, workflow_id: str) -> str:
        """durable.cancel: the workflow's status after it."""
        return await self._call(db.cancel, workflow_id)

    async def retry(self, workflow_id: str) -> str:
        """durable.retry: run a failed or cancelled workflow again."""
        return await self._call(db.retry, workflow_id)

    async def result(self, workflow_id: str) -> db.Result:
        """durable.result now (does not wait)."""
        return await self._call(db.result, workflow_id)

    async def set_queue(self, name: str, concurrency: int | None = None,
                        paused: bool | None = None, **options: Any) -> None:
        """durable.set_queue, as Durable.set_queue."""
        await self._call(db.set_queue, name, concurrency, paused, options.get("rate_limit"),
                         options.get("rate_period"), options.get("key_concurrency"))

    # -- waiting for notifications ---------------------------------------------------------------

    async def _listening(self) -> None:
        """Make sure the shared LISTEN connection listens on both channels and is read."""
        if self._listen_lock is None:
            self._listen_lock = asyncio.Lock()
        async with self._listen_lock:
            if self._listen_task is not None and not self._listen_task.done():
                return
            conn = await connect(self.app.dsn, application_name="durable async listener")
            await call(conn, db.listen, db.FINISHED_CHANNEL)
            await call(conn, db.listen, db.EVENT_CHANNEL)
            self._listen_conn = conn
            self._listen_task = asyncio.get_running_loop().create_task(self._read_notes(conn))

    async def _read_notes(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            async for note in conn.notifies():
                for waiter in list(self._waiters):
                    if waiter.channel == note.channel and waiter.matches(note.payload):
                        waiter.event.set()
        except psycopg.OperationalError as exc:
            log.warning("async client listener: connection lost (%s)", exc)
        finally:
            await conn.close()
            for waiter in list(self._waiters):
                waiter.event.set()  # check again (and listen again) now

    async def _wait_notified(self, channel: str, matches: Callable[[str], bool],
                             check: Callable[[], Awaitable[Any]], timeout: float | None,
                             poll: float) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        waiter = _Waiter(channel, matches)
        self._waiters.add(waiter)
        try:
            while True:
                waiter.event.clear()
                await self._listening()  # listening before the check: no finish is missed
                value = await check()
                if value is not None:
                    return value
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                try:
                    await asyncio.wait_for(waiter.event.wait(),
                                           poll if left is None else min(poll, left))
                except asyncio.TimeoutError:
                    pass
        finally:
            self._waiters.discard(waiter)


def _app_call(conn: Any, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return method(*args, conn=conn, **kwargs)


@dataclass(frozen=True)
class AsyncStartOptions:
    """Enqueue options bound by client.options(...) (durable.StartOptions for the async client):
    `await .start(workflow, *args, **kwargs)` starts a run with them, its arguments checked
    against the workflow's parameters by mypy and at the call."""

    client: AsyncDurable
    workflow_id: str | None = None
    queue: str | None = None
    delay: db.Seconds | None = None
    run_at: datetime | None = None
    priority: int | None = None
    max_attempts: int | None = None
    conn: psycopg.AsyncConnection[Any] | None = None
    timeout: db.Seconds | None = None
    detached: bool = False
    concurrency_key: str | None = None
    dedup_key: str | None = None
    if_exists: str | None = None

    async def start(self, workflow: Workflow[P, R] | AsyncWorkflow[P, R], /, *args: P.args,
                    **kwargs: P.kwargs) -> AsyncWorkflowHandle[R]:
        """Start workflow(*args, **kwargs) with these options (see AsyncDurable.start)."""
        from .app import StartOptions

        client = self.client
        opts = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("client", "conn")}
        if run_of_call() is not None:
            if self.conn is not None:
                opts["conn"] = self.conn  # refused there (ValueError), as app.options's
            handle = await cast("Awaitable[WorkflowHandle[Any]]", StartOptions(
                client.app, **opts).start(workflow, *args, **kwargs))
        else:
            handle = await client._call(_start_with, client.app, opts, workflow, args, kwargs,
                                        conn=self.conn)
        return AsyncWorkflowHandle(client, handle.workflow_id, handle.created)


def _start_with(conn: Any, app: Durable, opts: dict[str, Any], workflow: Any,
                args: tuple[Any, ...], kwargs: dict[str, Any]) -> WorkflowHandle[Any]:
    from .app import StartOptions

    return StartOptions(app, **opts, conn=conn).start(workflow, *args, **kwargs)


# -- running async workflows ----------------------------------------------------------------------


class AsyncRun:
    """One claimed async workflow being executed as a task of the runner's event loop; the
    async counterpart of durable.execution.Run (same outcomes: succeeded, pending, failed,
    waiting, stopped). Its statements go on the runner's shared connections, each carrying
    the run's lease."""

    is_async = True

    def __init__(self, app: Durable, claimed: db.Claimed, runner: AsyncRunner):
        self.app = app
        self.claimed = claimed
        self.workflow_id = claimed.workflow_id
        self.lease = claimed.lease
        steps = claimed.steps if isinstance(claimed.steps, list) else []
        self.recorded: dict[int, dict[str, Any]] = {s["step_id"]: s for s in steps}
        self.runner = runner
        self.next_step = 0
        self.interrupted = threading.Event()
        self.stop_seen = False
        self.reason: str | None = None
        self.failure: str | None = None  # "type: message" of the error the run failed with
        self.replayed = 0
        self.executed = 0
        self.finishing = False
        self.stop_raised = False
        self.parked = False
        self.fatal: BaseException | None = None
        self.tries: dict[int, int] = {}
        self.resent = False
        self.reconnects = 0
        self.task: asyncio.Task[Any] | None = None
        self._step_tasks: set[asyncio.Task[Any]] = set()
        self._in_sql: set[asyncio.Task[Any] | None] = set()  # tasks inside a statement
        # set by the worker, as for a sync Run: reserves a place for the workflow the
        # completion claims (durable.complete_and_claim), or None to claim nothing
        self.claim_next: Callable[[], tuple[str, list[str], float | None] | None] | None = None
        self.reserved = False
        self.claim_answered = False
        self.next_claimed: list[db.Claimed] = []

    # -- control (interrupt may come from any thread: the heartbeat's, the main one) -------------

    def interrupt(self, reason: str) -> None:
        """Ask the run to stop: every later step call raises Stopped, and the code running now
        is cancelled at its current await (asyncio.CancelledError), unless the run is already
        finishing or unwinding."""
        if self.reason is None:
            self.reason = reason
        self.interrupted.set()
        self.runner.loop.call_soon_threadsafe(self._cancel_code)

    def _cancel_code(self) -> None:
        """Cancel the run's code at its awaits; a task inside a statement is left to finish it
        (a statement cut short would leave its shared connection unusable) and stops right
        after it (_sql)."""
        if self.finishing or self.stop_raised or self.parked:
            return
        for task in list(self._step_tasks):
            if task not in self._in_sql:
                task.cancel()
        if self.task is not None and not self.task.done() and self.task not in self._in_sql:
            self.task.cancel()

    def _check(self) -> None:
        if self.parked:
            raise Parked(f"workflow {self.workflow_id} is waiting")
        if self.interrupted.is_set():
            self.stop_raised = True
            raise Stopped(f"workflow {self.workflow_id}: {self.reason}")
        if self.fatal is not None:
            raise self.fatal

    def _stop(self, exc: BaseException) -> None:
        self.stop_raised = True
        self.interrupt(str(exc))
        raise Stopped(f"workflow {self.workflow_id}: {exc}") from exc

    def _on_loop(self, name: str) -> None:
        if threading.get_ident() != self.runner.thread_id:
            exc = WrongThread(
                f"step {name} was called from thread {threading.current_thread().name!r}, not "
                f"from the event loop running workflow {self.workflow_id}: call the steps of an "
                "async workflow from its own code (await them, or asyncio.gather them)")
            if self.fatal is None:
                self.fatal = exc
            raise exc

    async def _sql(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One worker call for this run on a shared connection; DU001/DU002 stop the run."""
        task = asyncio.current_task()
        self._in_sql.add(task)
        try:
            answer = await self.runner.call(self, fn, *args, **kwargs)
        except (LeaseLost, Cancelled) as exc:
            self._stop(exc)
            raise  # not reached
        finally:
            self._in_sql.discard(task)
        if self.interrupted.is_set():
            self._check()  # told to stop while the statement ran: stop now
        return answer

    async def _sql_hot(self, name: bytes, params: Sequence[Any],
                       decode: Callable[[_Pipe, Any], T], fn: Callable[..., T], *args: Any) -> T:
        """_sql for one of the prepared statements (AsyncRunner.hot)."""
        task = asyncio.current_task()
        self._in_sql.add(task)
        try:
            answer = await self.runner.hot(self, name, params, decode, fn, *args)
        except (LeaseLost, Cancelled) as exc:
            self._stop(exc)
            raise  # not reached
        finally:
            self._in_sql.discard(task)
        if self.interrupted.is_set():
            self._check()
        return answer

    # -- the run ---------------------------------------------------------------------------------

    async def execute(self) -> str:
        """Run the workflow to its end: succeeded, pending (a retry is scheduled), failed,
        waiting (parked), or stopped (lease lost, cancelled, worker stopping)."""
        self.task = asyncio.current_task()
        for what, value in (("input", self.claimed.input), ("steps", self.claimed.steps)):
            if isinstance(value, db.Undecodable):
                return await self._fail(InvalidValue(
                    f"workflow {self.workflow_id}: its {what} is JSON nested too deep for "
                    f"Python to decode ({value.reason})"), False)
        token = _run.set(self)  # type: ignore[arg-type]
        try:
            return await self._attempt()
        finally:
            _run.reset(token)
            for task in list(self._step_tasks):
                task.cancel()  # steps left running (beside a wait that parked, or a stop)

    async def _attempt(self) -> str:
        definition = self.app.workflows.get(self.claimed.name)
        error: BaseException | None = None
        retryable = True
        output: Any = None
        try:
            if definition is None:
                raise LookupError(f"no workflow named {self.claimed.name!r} is registered in "
                                  "this worker")
            self._check()
            args, kwargs = values.decode_input(self.claimed.input)
            mismatch = unbindable(definition.name, definition.fn, args, kwargs)
            if mismatch is not None:  # deterministic: no retries
                error, retryable = mismatch, False
            else:
                output = await definition.fn(*args, **kwargs)
        except Parked:
            pass
        except Stopped:
            self.stop_raised = True
        except asyncio.CancelledError as exc:
            if self.interrupted.is_set():
                self.stop_raised = True
            else:
                error = exc  # the workflow's own code cancelled it: its outcome
        except psycopg.OperationalError:
            raise  # connections lost beyond remaking: the worker drops the run
        except BaseException as exc:  # noqa: BLE001 - the workflow's own error is its outcome
            error, retryable = exc, not isinstance(exc, NonRetryable)
        if self.parked:
            return "waiting"
        if self.stop_raised:
            return "stopped"
        if self.fatal is not None:
            error, retryable = self.fatal, not isinstance(self.fatal, Nondeterminism)
        text = None
        if error is None:
            try:
                text, _ = as_jsonb(output, "the workflow's output")
            except InvalidValue as exc:
                error = exc
        if error is not None:
            return await self._fail(error, retryable)
        assert text is not None
        return await self._complete(text)

    async def _complete(self, text: str) -> str:
        """durable.complete_and_claim: finish the run and claim the next workflow for its place
        in the same statement (as a sync slot does), while the worker's last claim found all
        it asked for."""
        self.finishing = True
        self.resent = False
        request = self.claim_next() if self.claim_next is not None else None
        self.reserved = request is not None
        worker, queues, lease_timeout = request or (None, [], None)
        try:
            want = 1 if request is not None else 0
            _, self.next_claimed = await self.runner.hot(
                self, b"durable_complete_and_claim",
                [self.workflow_id, self.lease, text, worker, db._text_array(tuple(queues)), want,
                 db.interval(lease_timeout), None, None, None, None],
                _completed, db.complete_and_claim, self.workflow_id, self.lease,
                db.raw_json(text), worker, queues, want, lease_timeout)
            self.claim_answered = request is not None
            return "succeeded"
        except (LeaseLost, Cancelled) as lost:
            if isinstance(lost, LeaseLost) and self.resent \
                    and await self._status_now() == "succeeded":
                return "succeeded"  # the first completion committed; its answer was lost
            self.interrupt(str(lost))
            return "stopped"
        except psycopg.OperationalError:
            raise
        except (DurableError, psycopg.Error) as refused:  # the output was refused (too large)
            return await self._fail(refused, True)

    async def _fail(self, exc: BaseException, retryable: bool) -> str:
        self.finishing = True
        self.resent = False
        error = error_json(exc)
        self.failure = f"{error['type']}: {error['message'][:_SHORT_MESSAGE_LIMIT]}"
        shorter: list[dict[str, Any]] | None = None
        while True:
            try:
                status, _ = await self.runner.call(self, db.fail, self.workflow_id, self.lease,
                                                   error, retryable)
                return status
            except (LeaseLost, Cancelled) as lost:
                status_now = (await self._status_now()
                              if isinstance(lost, LeaseLost) and self.resent else None)
                if status_now in ("pending", "failed"):
                    return status_now  # the first fail committed; its answer was lost
                self.interrupt(str(lost))
                return "stopped"
            except _REFUSED as refused:
                if shorter is None:
                    shorter = short_errors(exc, refused)
                if not shorter:
                    raise
                error = shorter.pop(0)

    async def _status_now(self) -> str | None:
        try:
            return (await self.runner.call(self, db.result, self.workflow_id)).status
        except (DurableError, psycopg.Error) as exc:
            log.warning("%s: cannot read its status (%s)", self.workflow_id, exc)
            return None

    # -- steps -----------------------------------------------------------------------------------

    def step(self, definition: StepDef, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Awaitable[Any]:
        """The next step of the workflow, as an awaitable: its position is taken now, at the
        call (see the module's doc); awaiting it replays or runs it."""
        self._on_loop(definition.name)
        step_id = self.next_step
        self.next_step += 1
        return self._step(step_id, definition, args, kwargs)

    async def _step(self, step_id: int, definition: StepDef, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
        self._check()
        name = definition.name
        recorded = self.recorded.get(step_id)
        if recorded is not None and recorded["name"] == name:
            self.replayed += 1
            return _outcome(name, recorded["output"], recorded["error"])
        if recorded is not None:
            # another step is recorded here: the SQL refuses this one (DU005) before it runs
            try:
                done = await self._sql(db.checkpoint, self.workflow_id, self.lease, step_id,
                                       name)
            except Nondeterminism as exc:
                self.fatal = exc
                raise
            return _outcome(name, done.output, done.error)
        if definition.transactional and not inspect.iscoroutinefunction(definition.fn):
            refused = TypeError(f"step {name} is a def transactional step, which takes a sync "
                                "connection: an async workflow runs async def transactional "
                                "steps (they get an AsyncConnection)")
            self.fatal = refused
            raise refused
        task = asyncio.current_task()
        if task is not None and task is not self.task:
            self._step_tasks.add(task)
        try:
            self.executed += 1
            tries = self.tries.get(step_id, 0)
            lost = 0
            while True:
                tries += 1
                info = StepInfo(self.workflow_id, step_id, name, self.claimed.attempt, tries)
                started = datetime.now(timezone.utc)
                try:
                    if definition.transactional:
                        try:
                            done = await self._transactional(definition, info, started, args,
                                                             kwargs)
                        except psycopg.OperationalError as exc:
                            # the step's transaction died with its connection: nothing of it
                            # committed, or (its COMMIT's answer lost) its checkpoint says so
                            # when the try runs again, on another connection
                            if lost >= _RESENDS:
                                raise
                            log.warning("%s: connection lost in transactional step %d (%s): "
                                        "trying it again", self.workflow_id, step_id, exc)
                            lost += 1
                            tries -= 1
                            continue
                        self.recorded[step_id] = {"step_id": step_id, "name": name,
                                                  "output": done.output, "error": done.error}
                        return _outcome(name, done.output, done.error)
                    value = await _call_step(info, definition.fn, args, kwargs)
                    if self.stop_seen:
                        self._check()
                    try:
                        text, raw, seen = encoded(value, f"the output of step {name}")
                    except InvalidValue as exc:
                        raise _StepRaised(exc) from None
                    try:
                        done = await self._sql_hot(
                            b"durable_checkpoint",
                            [self.workflow_id, self.lease, step_id, name, text, None, started],
                            _checkpointed, db.checkpoint, self.workflow_id, self.lease, step_id,
                            name, db.raw_json(text), None, started)
                    except Nondeterminism as exc:
                        self.fatal = exc
                        raise
                    except (*_REFUSED, psycopg.DataError) as exc:
                        raise _StepRaised(exc) from exc
                except _StepRaised as raised:
                    failure = await self._step_failed(step_id, definition, raised.exc, started)
                    if failure is None:
                        rec = self.recorded[step_id]
                        return _outcome(name, rec["output"], rec["error"])
                    await asyncio.sleep(failure.retry_in.total_seconds()
                                        if failure.retry_in is not None else 0)
                    self._check()
                    continue
                if done.recorded:
                    self.recorded[step_id] = {"step_id": step_id, "name": name, "output": raw,
                                              "error": None}
                    return seen
                self.recorded[step_id] = {"step_id": step_id, "name": name,
                                          "output": done.output, "error": done.error}
                return _outcome(name, done.output, done.error)
        finally:
            if task is not None:
                self._step_tasks.discard(task)

    async def _transactional(self, definition: StepDef, info: StepInfo, started: datetime,
                             args: tuple[Any, ...], kwargs: dict[str, Any]) -> db.StepOutcome:
        """One try of an async def transactional step: on a connection of its own (not a shared
        pipelined one) in a transaction, its function awaited with the connection first, then
        its checkpoint (durable.checkpoint) in the same transaction: its writes commit with its
        checkpoint, or neither does. Already recorded (by a try whose COMMIT's answer was lost,
        or another execution): its writes are rolled back and the recorded outcome returned.
        The step's own exceptions (and its output refused) come out as _StepRaised, after the
        rollback; a lost connection as psycopg.OperationalError (nothing committed, or the
        checkpoint says so on the next try); the lease lost or the run cancelled as Stopped."""
        conn = await self.runner.tx_connection()
        name = definition.name
        try:
            async with conn.transaction():
                token = _step.set(info)
                try:
                    value = await (otel.acall_step(  # in its step span (durable.otel)
                        info, functools.partial(definition.fn, conn, *args, **kwargs))
                        if otel.enabled() else definition.fn(conn, *args, **kwargs))
                except (Stopped, Parked, asyncio.CancelledError):
                    raise
                except psycopg.OperationalError as exc:
                    if conn.broken or conn.closed:
                        raise
                    raise _StepRaised(exc) from exc
                except BaseException as exc:  # the step's own error is its try's outcome
                    raise _StepRaised(exc) from exc
                finally:
                    _step.reset(token)
                if self.stop_seen:
                    self._check()
                try:
                    text, _, _ = encoded(value, f"the output of step {name}")
                except InvalidValue as exc:
                    raise _StepRaised(exc) from None
                try:
                    # in the step's transaction, on its connection: never sent again elsewhere
                    done = await call(conn, db.checkpoint, self.workflow_id, self.lease,
                                      info.step_id, name, db.raw_json(text), None, started)
                except (LeaseLost, Cancelled) as exc:
                    self._stop(exc)  # Stopped: the step's writes are rolled back
                except Nondeterminism as exc:
                    self.fatal = exc
                    raise
                except psycopg.OperationalError:
                    raise
                except (*_REFUSED, psycopg.DataError) as exc:
                    raise _StepRaised(exc) from exc  # rolls back the step's writes
                if not done.recorded:
                    raise _AlreadyRecorded(done)  # undo this try's writes
            return done
        except _AlreadyRecorded as already:
            return already.outcome
        finally:
            await self.runner.tx_release(conn)

    async def _step_failed(self, step_id: int, definition: StepDef, exc: BaseException,
                           started: datetime) -> db.StepFailure | None:
        error = error_json(exc)
        shorter: list[dict[str, Any]] | None = None
        while True:
            try:
                failure = await self._sql(
                    db.step_failed, self.workflow_id, self.lease, step_id, definition.name,
                    error, max_attempts=definition.max_attempts,
                    backoff_base=definition.backoff_base, backoff_max=definition.backoff_max,
                    started_at=started)
                break
            except _REFUSED as refused:
                if shorter is None:
                    shorter = short_errors(exc, refused)
                if not shorter:
                    self.fatal = refused
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

    def call(self, name: str, fn: Callable[..., Any], *args: Any, parks: bool = False,
             **kwargs: Any) -> Awaitable[Any]:
        """A step the SQL records itself (durable.waiting's waits, send, set_event, children),
        as an awaitable whose position is taken now; see Run.call."""
        self._on_loop(name)
        step_id = self.next_step
        self.next_step += 1
        return self._call(step_id, name, fn, args, kwargs, parks)

    async def _call(self, step_id: int, name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                    kwargs: dict[str, Any], parks: bool) -> Any:
        self._check()
        recorded = self.recorded.get(step_id)
        if recorded is not None and recorded["name"] == name:
            self.replayed += 1
            if recorded["error"] is not None:
                raise step_error(name, recorded["error"])
            return recorded["output"]  # as the SQL recorded it: the caller decodes its values
        sql = functools.partial(self._sql, fn, self.workflow_id, self.lease, step_id, *args,
                                name=name, **kwargs)
        try:
            if otel.enabled():  # in its step span (durable.otel): a child started here hangs
                # under it (fn reads the current span's traceparent: durable.waiting)
                answer = await otel.asql_step(
                    StepInfo(self.workflow_id, step_id, name, self.claimed.attempt, 1), sql, parks)
            else:
                answer = await sql()
        except Nondeterminism as exc:
            self.fatal = exc
            raise
        if parks:
            parked, output = answer
            if parked:
                self.parked = True
                self.finishing = True
                raise Parked(f"workflow {self.workflow_id} is waiting (step {step_id}, {name})")
        else:
            output = answer
        self.executed += 1
        self.recorded[step_id] = {"step_id": step_id, "name": name, "output": output,
                                  "error": None}
        return output


def _checkpointed(pipe: _Pipe, result: Any) -> db.StepOutcome:
    """durable.checkpoint's answer; recorded now: its output is the one sent (not decoded)."""
    if result.get_value(0, 0) == b"t":
        return db.StepOutcome(True, None, None)
    return db.StepOutcome(*pipe.rows(result)[0])


def _completed(pipe: _Pipe, result: Any) -> tuple[str, list[db.Claimed]]:
    """durable.complete_and_claim's answer: ('succeeded', the workflows claimed)."""
    rows = pipe.rows(result)
    return rows[0][0], [db.Claimed(*r[1:]) for r in rows if r[1] is not None]


# sync steps of async workflows running in the loop's thread pool now (one loop per process)
_sync_steps = [0]


def sync_steps_running() -> int:
    """How many sync steps of async workflows run in the event loop's thread pool now: a
    stopping worker whose count is not 0 exits without waiting for them (the CLI's os._exit),
    as for a slot still inside a step."""
    return _sync_steps[0]


async def _call_step(info: StepInfo, fn: Callable[..., Any], args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Any:
    """A step's function with its StepInfo current: an async one awaited on the loop, a sync one
    in the loop's default thread pool (it must not block the loop). Its own exceptions come out
    wrapped in _StepRaised; cancellation and Stopped as they are."""
    token = _step.set(info)
    try:
        if otel.enabled():  # in its step span (durable.otel), current in the step's code
            return await otel.acall_step(info, functools.partial(_invoke, fn, args, kwargs))
        return await _invoke(fn, args, kwargs)
    except (Stopped, Parked, asyncio.CancelledError):
        raise
    except BaseException as exc:  # the step's own error is its try's outcome
        raise _StepRaised(exc) from exc
    finally:
        _step.reset(token)


async def _invoke(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """fn(*args, **kwargs): an async one awaited, a sync one in the loop's default thread pool
    with a copy of the caller's context (its StepInfo, its step span)."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    ctx = contextvars.copy_context()
    _sync_steps[0] += 1
    try:
        return await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(ctx.run, fn, *args, **kwargs))
    finally:
        _sync_steps[0] -= 1


# -- the runner's connections: libpq pipeline mode, shared by all the runs ------------------------


class _Pipe:
    """One connection of the runner in libpq's pipeline mode, shared by every run of the loop: a
    statement is sent the moment it is asked for, with its own Sync (it commits, or fails, on its
    own, whatever the statements around it do; no transaction spans two of them), and its answer
    (PGresult or error) is handed to its future when it arrives. The statements of many runs
    are in flight on it at once, and one reader callback on its socket reads the answers in
    order as they come: no wait set up and torn down per statement, and one read takes in the
    answers of several runs. The worker's two statements of every step and workflow
    (durable.checkpoint, durable.complete_and_claim) are prepared once per connection (text
    parameters, the SQL casts them, as durable.db's pipelined calls); the others are bound on
    the client side (psycopg's ClientCursor.mogrify) and sent as they are.

    A lost connection (its socket closed, a server's goodbye, a fatal error) fails every
    statement in flight on it with psycopg.OperationalError: their answers are unknown (each
    may or may not have committed), and AsyncRunner.call sends them again on another connection
    under the same lease (the SQL's fencing makes that safe, as for the sync worker's resends).
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any]):
        self.conn = conn
        self.pgconn = conn.pgconn
        self.loop = asyncio.get_running_loop()
        self.fd = self.pgconn.socket
        self.transformer = Transformer(conn)
        self.mogrifier = psycopg.AsyncClientCursor(conn)
        self.prepared: set[bytes] = set()
        # futures of the statements sent, answers not read yet, in order
        self.waiting: deque[asyncio.Future[tuple[Any, psycopg.Error | None]]] = deque()
        self.lost: BaseException | None = None
        self._result: Any = None  # the rows (PGresult) of the statement being read
        self._error: psycopg.Error | None = None
        self._writing = False
        self.deepest = 0  # the most statements in flight on it at once (a figure for the logs)
        self.pgconn.enter_pipeline_mode()
        self.loop.add_reader(self.fd, self._read)

    def __len__(self) -> int:
        return len(self.waiting)

    def send(self, sql: bytes, params: Sequence[bytes | None] | None = None,
             name: bytes | None = None) -> asyncio.Future[tuple[Any, psycopg.Error | None]]:
        """Send one statement (sql, or the prepared statement name of sql) and its Sync; the
        future's result is (its last PGresult with rows, or None; its error, or None).
        psycopg.OperationalError when the connection is lost."""
        if self.lost is not None:
            raise psycopg.OperationalError(f"the connection was lost ({self.lost})")
        pgconn = self.pgconn
        try:
            if name is None:
                pgconn.send_query_params(sql, params)
            else:
                if name not in self.prepared:
                    pgconn.send_prepare(name, sql)
                    self.prepared.add(name)
                pgconn.send_query_prepared(name, params)
            pgconn.pipeline_sync()
            if pgconn.flush() and not self._writing:  # the socket's buffer is full
                self._writing = True
                self.loop.add_writer(self.fd, self._write)
        except psycopg.OperationalError as exc:
            self._lose(exc)
            raise
        future: asyncio.Future[tuple[Any, psycopg.Error | None]] = self.loop.create_future()
        self.waiting.append(future)
        self.deepest = max(self.deepest, len(self.waiting))
        return future

    def _write(self) -> None:
        try:
            if self.pgconn.flush() == 0:
                self._writing = False
                self.loop.remove_writer(self.fd)
        except psycopg.OperationalError as exc:
            self._lose(exc)

    def _read(self) -> None:
        pgconn = self.pgconn
        try:
            pgconn.consume_input()  # OperationalError at the end of the connection
            while self.waiting and not pgconn.is_busy():
                result = pgconn.get_result()
                if result is None:  # the end of one statement's results
                    if pgconn.status != _CONN_OK:
                        raise psycopg.OperationalError("the connection to the server was lost")
                    continue
                status = result.status
                if status == _PIPELINE_SYNC:
                    future = self.waiting.popleft()
                    answer = (self._result, self._error)
                    self._result = self._error = None
                    if not future.done():  # (its task may have been cancelled)
                        future.set_result(answer)
                elif status == _FATAL_ERROR:
                    if self._error is None:
                        self._error = psycopg.errors.error_from_result(
                            result, self.conn.info.encoding)
                        if pgconn.status != _CONN_OK or (self._error.sqlstate or "").startswith(
                                ("57P", "08")):  # the server ended the session
                            raise psycopg.OperationalError(str(self._error))
                elif status == _TUPLES_OK:
                    self._result = result
            if not self.waiting and pgconn.status != _CONN_OK:
                raise psycopg.OperationalError("the connection to the server was lost")
        except psycopg.OperationalError as exc:
            self._lose(exc)

    def _lose(self, exc: BaseException) -> None:
        if self.lost is not None:
            return
        self.lost = exc
        self.loop.remove_reader(self.fd)
        if self._writing:
            self.loop.remove_writer(self.fd)
        waiting, self.waiting = self.waiting, deque()
        for future in waiting:
            if not future.done():
                future.set_exception(psycopg.OperationalError(
                    f"the connection was lost before the answer came ({exc})"))
        self.loop.create_task(_close_quietly(self.conn))

    def rows(self, result: Any, row_factory: Any = None) -> list[Any]:
        """The rows of a PGresult as tuples (tuple_row, None) or dicts (dict_row)."""
        if result is None:
            return []
        transformer = self.transformer
        transformer.set_pgresult(result)
        rows = transformer.load_rows(0, result.ntuples, tuple)
        if row_factory is dict_row:
            names = [result.fname(i).decode() for i in range(result.nfields)]
            return [dict(zip(names, row)) for row in rows]
        if row_factory not in (None, tuple_row):
            raise TypeError(f"row factory {row_factory!r} is not one the runner reads")
        return rows

    async def close(self) -> None:
        if self.lost is None:
            self.lost = Stopped("closed")
            self.loop.remove_reader(self.fd)
            if self._writing:
                self.loop.remove_writer(self.fd)
            for future in self.waiting:
                if not future.done():
                    future.set_exception(psycopg.OperationalError("the connection was closed"))
        await _close_quietly(self.conn)


class _PipeInfo:
    """What durable.db reads of a connection's state through the runner's stand-in: each
    statement is its own transaction (its own Sync), so the connection is always idle between
    them."""

    transaction_status = psycopg.pq.TransactionStatus.IDLE

    def __init__(self, conn: psycopg.AsyncConnection[Any]):
        self.encoding = conn.info.encoding


class _Pipes:
    """The runner's pipelined connections, made on demand up to size: a statement goes on the
    one with the fewest statements in flight (a connection runs its statements one after the
    other, each waiting for its own commit, so spreading them keeps the server's backends
    busy side by side). A lost one is dropped and another made when needed."""

    def __init__(self, connect: Callable[[], Awaitable[psycopg.AsyncConnection[Any]]], size: int):
        self._connect = connect
        self.size = size
        self.pipes: list[_Pipe] = []
        self.opening = 0
        self.opened = 0  # connections made in all (a figure for tests and logs)
        self.deepest = 0  # the most statements in flight on one connection (of those closed)

    async def pick(self) -> _Pipe:
        while True:
            pipes = self.pipes
            if any(p.lost is not None for p in pipes):
                self.deepest = max([self.deepest, *(p.deepest for p in pipes)])
                pipes = self.pipes = [p for p in pipes if p.lost is None]
            best = min(pipes, key=len) if pipes else None
            if best is not None and (not best.waiting
                                     or len(pipes) + self.opening >= self.size):
                return best
            if len(pipes) + self.opening < self.size:
                self.opening += 1
                try:
                    conn = await self._connect()
                finally:
                    self.opening -= 1
                pipe = _Pipe(conn)
                self.opened += 1
                self.pipes.append(pipe)
                return pipe
            await asyncio.sleep(0.01)  # every connection is being made: the first one soon

    async def close(self) -> None:
        pipes, self.pipes = self.pipes, []
        self.deepest = max([self.deepest, *(p.deepest for p in pipes)])
        for pipe in pipes:
            await pipe.close()
        log.info("async runner: %d connections made, at most %d statements in flight on one",
                 self.opened, self.deepest)


async def _close_quietly(conn: psycopg.AsyncConnection[Any]) -> None:
    with contextlib.suppress(Exception):  # closing a dead connection
        await conn.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when it is installed (`pip install durable[uvloop]`: its loop costs
    less CPU per statement), else asyncio's."""
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class AsyncRunner:
    """The event loop of a worker's async runs: one thread, one loop, connections shared by
    every run (connections of them, made on demand). durable.Worker makes and drives it; each
    AsyncRun submitted runs as a task; done(run, outcome) is called (in the loop's thread) when
    it ends."""

    def __init__(self, app: Durable, connect: Callable[[], Awaitable[psycopg.AsyncConnection[Any]]],
                 connections: int, done: Callable[[AsyncRun, str], None]):
        self.app = app
        self.connections = connections
        self._done = done
        self._connect = connect
        self.loop = _new_loop()
        self.thread_id: int | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="durable-asyncio", daemon=True)
        self.pool: _Pipes | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        # connections of async transactional steps (one per step running, kept idle for the
        # next; at most `connections` at once)
        self._tx_idle: list[psycopg.AsyncConnection[Any]] = []
        self._tx_slots: asyncio.Semaphore | None = None

    def start(self) -> None:
        """Start the loop's thread."""
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.thread_id = threading.get_ident()
        self.pool = _Pipes(self._connect, self.connections)
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def submit(self, run: AsyncRun) -> None:
        """Run run on the loop (callable from any thread)."""
        self.loop.call_soon_threadsafe(self._start, run)

    def _start(self, run: AsyncRun) -> None:
        task = self.loop.create_task(self._execute(run), name=f"durable-run-{run.workflow_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _execute(self, run: AsyncRun) -> None:
        outcome = "dropped"
        try:
            outcome = await otel.aexecute(run)  # in a span when tracing (durable.otel)
        except psycopg.OperationalError as exc:
            log.warning("%s: connection lost (%s): dropping the run", run.workflow_id, exc)
        except asyncio.CancelledError:
            outcome = "stopped"
        except Exception:
            log.exception("%s: unexpected error in the worker", run.workflow_id)
        finally:
            self._done(run, outcome)

    async def call(self, run: AsyncRun | None, fn: Callable[..., T], *args: Any,
                   **kwargs: Any) -> T:
        """fn (a durable.db call) on one of the pipelined connections (a run's code is not
        cancelled inside it: AsyncRun._cancel_code). A connection lost under it is dropped and
        the call sent again on another (a few times; run.resent set): the lease fences it, as
        the sync Run's resends. A lock timeout or a deadlock (which wrote nothing) is sent again
        after durable.db's pauses, awaited (the loop goes on meanwhile)."""
        assert self.pool is not None
        for resend in range(_RESENDS + 1):
            pipe = await self.pool.pick()
            try:
                for tries in range(db.LOCK_RETRIES + 1):
                    try:
                        return await _pipe_call(pipe, fn, args, kwargs)
                    except (psycopg.errors.LockNotAvailable,
                            psycopg.errors.DeadlockDetected):
                        if tries >= db.LOCK_RETRIES:
                            raise
                        await asyncio.sleep(db._LOCK_PAUSES[tries])
            except psycopg.OperationalError as exc:
                if pipe.lost is None or resend >= _RESENDS:
                    raise
                self._resent(run, fn, exc)
        raise AssertionError("not reached")

    def _resent(self, run: AsyncRun | None, fn: Any, exc: BaseException) -> None:
        log.warning("%s: connection lost under %s (%s): sent again on another",
                    run.workflow_id if run else "-", getattr(fn, "__name__", fn), exc)
        if run is not None:
            run.resent = True
            run.reconnects += 1

    async def hot(self, run: AsyncRun, name: bytes, params: Sequence[Any],
                  decode: Callable[[_Pipe, Any], T], fn: Callable[..., T], *args: Any) -> T:
        """A prepared statement of durable.db's pipelined ones (name) with text params (as
        durable.db sends them), its answer decoded by decode(pipe, PGresult); what the SQL
        refuses raised as fn(conn, *args) would raise it. A lock timeout, a deadlock or a
        prepared statement gone is sent again as fn(conn, *args) through call()."""
        assert self.pool is not None
        try:
            values_ = [db._param(v) for v in params]
        except InvalidValue:
            return await self.call(run, fn, *args)
        for resend in range(_RESENDS + 1):
            pipe = await self.pool.pick()
            try:
                result, error = await pipe.send(db._PIPELINED_SQL[name], values_, name)
            except psycopg.OperationalError as exc:
                if pipe.lost is None or resend >= _RESENDS:
                    raise
                self._resent(run, fn, exc)
                continue
            if error is None:
                return decode(pipe, result)
            if isinstance(error, _SEND_AGAIN):
                if isinstance(error, psycopg.errors.InvalidSqlStatementName):
                    pipe.prepared.discard(name)
                return await self.call(run, fn, *args)
            raise translate(error)
        raise AssertionError("not reached")

    async def tx_connection(self) -> psycopg.AsyncConnection[Any]:
        """A connection for one async transactional step (its own while the step runs: its
        transaction is not shared with other runs' statements); at most `connections` at once,
        the others wait. Give it back with tx_release."""
        if self._tx_slots is None:
            self._tx_slots = asyncio.Semaphore(self.connections)
        await self._tx_slots.acquire()
        try:
            while self._tx_idle:
                conn = self._tx_idle.pop()
                if not (conn.closed or conn.broken):
                    return conn
            return await self._connect()
        except BaseException:
            self._tx_slots.release()
            raise

    async def tx_release(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Take back a transactional step's connection: kept when it is idle and sound, else
        closed."""
        assert self._tx_slots is not None
        self._tx_slots.release()
        if (conn.closed or conn.broken
                or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE):
            await _close_quietly(conn)
        else:
            self._tx_idle.append(conn)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what still runs, close the connections, stop the loop and its thread."""
        if not self._thread.is_alive():
            return

        async def finish() -> None:
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=timeout)
            if self.pool is not None:
                await self.pool.close()
            idle, self._tx_idle = self._tx_idle, []
            for conn in idle:
                await _close_quietly(conn)

        try:
            asyncio.run_coroutine_threadsafe(finish(), self.loop).result(timeout + 1)
        except Exception as exc:  # noqa: BLE001 - stopping anyway
            log.warning("async runner: %s while stopping", exc)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)


def is_async(fn: Callable[..., Any]) -> bool:
    """Whether fn is an async def function (a workflow the async runner runs)."""
    return inspect.iscoroutinefunction(fn)


# -- typed waits for async workflow code -----------------------------------------------------------
#
# durable.sleep, recv, ... return an awaitable in an async workflow, but are typed as their sync
# values; these are the same functions typed for `await` (mypy --strict clean in async code).


async def _awaited(value: Any, what: str) -> Any:
    if not inspect.isawaitable(value):
        raise TypeError(f"durable.aio.{what} is for async def workflows: in a def workflow call "
                        f"durable.{what}")
    return await value


async def sleep(seconds: db.Seconds) -> None:
    """await durable.sleep(seconds) in an async workflow (see durable.waiting.sleep)."""
    await _awaited(cast(Any, waiting.sleep)(seconds), "sleep")


async def sleep_until(when: datetime) -> None:
    """await durable.sleep_until(when) in an async workflow."""
    await _awaited(cast(Any, waiting.sleep_until)(when), "sleep_until")


async def recv(topic: str = "default", timeout: db.Seconds | None = None) -> Any:
    """await durable.recv(topic, timeout) in an async workflow: the message, None on timeout."""
    return await _awaited(waiting.recv(topic, timeout), "recv")


async def send(destination_id: str, message: Any, topic: str = "default") -> int:
    """await durable.send(...) in an async workflow: the message id."""
    return int(await _awaited(waiting.send(destination_id, message, topic), "send"))


async def set_event(key: str, value: Any) -> None:
    """await durable.set_event(key, value) in an async workflow."""
    await _awaited(cast(Any, waiting.set_event)(key, value), "set_event")


async def get_event(workflow_id: str, key: str, timeout: db.Seconds | None = None) -> Any:
    """await durable.get_event(...) in an async workflow: the value, None on timeout."""
    return await _awaited(waiting.get_event(workflow_id, key, timeout), "get_event")


async def wait_all(handles: Sequence[WorkflowHandle[Any] | AsyncWorkflowHandle[Any] | str],
                   timeout: db.Seconds | None = None) -> list[waiting.ChildResult]:
    """await durable.wait_all(handles, timeout) in an async workflow."""
    ids = [h if isinstance(h, str) else h.workflow_id for h in handles]
    results: list[waiting.ChildResult] = await _awaited(waiting.wait_all(ids, timeout),
                                                        "wait_all")
    return results
