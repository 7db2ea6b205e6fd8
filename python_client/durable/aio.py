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
    handle = await client.enqueue(crawl, ["https://..."])
    pages = await handle.result(timeout=60)

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
statements on a small set of shared connections (async_connections, default 4): a statement
takes a connection for its round trip only, and every worker call carries the run's lease, so
the SQL fences it whichever connection carries it. A run waiting in a step (awaiting I/O)
holds no connection.
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
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar, cast

import psycopg
from psycopg.rows import tuple_row

from . import db, values, waiting
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
    workflow_error,
)
from .execution import (
    _REFUSED,
    _RESENDS,
    NonRetryable,
    StepInfo,
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

    from .app import Durable, StepDef, Workflow, WorkflowHandle

log = logging.getLogger("durable.aio")

T = TypeVar("T")

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


async def connect(dsn: str | None = None, *, application_name: str = "durable async"
                  ) -> psycopg.AsyncConnection[Any]:
    """A new AsyncConnection set up as durable.db.connect sets up a sync one (autocommit, the
    same loaders)."""
    conn = await psycopg.AsyncConnection.connect(db.resolve_dsn(dsn), autocommit=True,
                                                 application_name=application_name[:63])
    db.configure(conn)  # type: ignore[arg-type]
    return conn


# -- the async client -----------------------------------------------------------------------------


class AsyncWorkflowHandle:
    """A started workflow, for async code: await its status, its result, cancel it."""

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

    async def result(self, timeout: float | None = None, poll: float = 5.0) -> Any:
        """Wait until the workflow finishes and return its output, as WorkflowHandle.result:
        WorkflowFailed, WorkflowCancelled, or TimeoutError after timeout seconds (None: no
        limit). From a client: durable.watch, then a wait on the client's one shared LISTEN
        connection for durable_finished naming this workflow (and durable.watch again every poll
        seconds). Inside an async workflow (a child it started): a durable wait
        (durable.await_children)."""
        if run_of_call() is not None:
            return await waiting.await_child(self.workflow_id, timeout)
        res = await self.client._wait_notified(
            db.FINISHED_CHANNEL, lambda payload: payload == self.workflow_id,
            lambda: self._finished(), timeout, poll)
        if res is None:
            raise TimeoutError(f"workflow {self.workflow_id} is still {await self.status()} "
                               f"after {timeout}s")
        if res.status == "succeeded":
            return values.decode(res.output, f"the output of workflow {self.workflow_id}")
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

    async def enqueue(self, workflow: Workflow[..., Any] | str, *args: Any,
                      conn: psycopg.AsyncConnection[Any] | None = None,
                      **options: Any) -> AsyncWorkflowHandle:
        """Start workflow (a registered function or a name) with args: Durable.enqueue's options
        and checks, one durable.enqueue call. With conn (an AsyncConnection) it runs on the
        caller's connection, in the caller's transaction if one is open. Inside an async
        workflow it starts a child (one step, durable.start_child)."""
        if run_of_call() is not None:
            if conn is not None:
                options["conn"] = conn  # refused there (ValueError), as app.enqueue's
            handle = await cast("Awaitable[WorkflowHandle[Any]]",
                                self.app.enqueue(workflow, *args, **options))
            return AsyncWorkflowHandle(self, handle.workflow_id, handle.created)
        handle = await self._call(_app_call, self.app.enqueue, workflow, *args, conn=conn,
                                  **options)
        return AsyncWorkflowHandle(self, handle.workflow_id, handle.created)

    async def enqueue_many(self, workflow: Workflow[..., Any] | str,
                           arg_lists: Sequence[Sequence[Any]], *,
                           conn: psycopg.AsyncConnection[Any] | None = None,
                           **options: Any) -> list[AsyncWorkflowHandle]:
        """Start one run of workflow per list of arguments: Durable.enqueue_many's options, one
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

    def handle(self, workflow_id: str) -> AsyncWorkflowHandle:
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
            _, self.next_claimed = await self.runner.call(
                self, db.complete_and_claim, self.workflow_id, self.lease, db.raw_json(text),
                worker, queues, 1 if request is not None else 0, lease_timeout)
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
        if definition.transactional:
            refused = TypeError(f"step {name} is transactional: an async workflow cannot run a "
                                "transactional step yet (make it a plain step that opens its "
                                "own transaction, or call it from a sync workflow)")
            self.fatal = refused
            raise refused
        task = asyncio.current_task()
        if task is not None and task is not self.task:
            self._step_tasks.add(task)
        try:
            self.executed += 1
            tries = self.tries.get(step_id, 0)
            while True:
                tries += 1
                info = StepInfo(self.workflow_id, step_id, name, self.claimed.attempt, tries)
                started = datetime.now(timezone.utc)
                try:
                    value = await _call_step(info, definition.fn, args, kwargs)
                    if self.stop_seen:
                        self._check()
                    try:
                        text, raw, seen = encoded(value, f"the output of step {name}")
                    except InvalidValue as exc:
                        raise _StepRaised(exc) from None
                    try:
                        done = await self._sql(db.checkpoint, self.workflow_id, self.lease,
                                               step_id, name, db.raw_json(text), None, started)
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
        try:
            answer = await self._sql(fn, self.workflow_id, self.lease, step_id, *args, name=name,
                                     **kwargs)
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
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        ctx = contextvars.copy_context()
        _sync_steps[0] += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(ctx.run, fn, *args, **kwargs))
        finally:
            _sync_steps[0] -= 1
    except (Stopped, Parked, asyncio.CancelledError):
        raise
    except BaseException as exc:  # the step's own error is its try's outcome
        raise _StepRaised(exc) from exc
    finally:
        _step.reset(token)


class _Pool:
    """A few AsyncConnections shared by all the runs of a runner: a statement takes one for its
    round trip. A broken one is dropped and another made when needed."""

    def __init__(self, connect: Callable[[], Awaitable[psycopg.AsyncConnection[Any]]], size: int):
        self._connect = connect
        self.size = size
        self.opened = 0
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._cond = asyncio.Condition()

    async def get(self) -> psycopg.AsyncConnection[Any]:
        async with self._cond:
            while True:
                while self._idle:
                    conn = self._idle.pop()
                    if not (conn.closed or conn.broken):
                        return conn
                    self.opened -= 1
                if self.opened < self.size:
                    self.opened += 1
                    break
                await self._cond.wait()
        try:
            return await self._connect()
        except BaseException:
            async with self._cond:
                self.opened -= 1
                self._cond.notify()
            raise

    async def put(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async with self._cond:
            if conn.closed or conn.broken:
                self.opened -= 1
                await _close_quietly(conn)
            else:
                self._idle.append(conn)
            self._cond.notify()

    async def close(self) -> None:
        async with self._cond:
            idle, self._idle = self._idle, []
        for conn in idle:
            await _close_quietly(conn)


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
        self.pool: _Pool | None = None
        self.tasks: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """Start the loop's thread."""
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.thread_id = threading.get_ident()
        self.pool = _Pool(self._connect, self.connections)
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
            outcome = await run.execute()
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
        """fn (a durable.db call) on one of the shared connections (a run's code is not
        cancelled inside it: AsyncRun._cancel_code). A connection lost under it is dropped and
        the call sent again on another (a few times; run.resent set): the lease fences it, as
        the sync Run's resends."""
        assert self.pool is not None
        for resend in range(_RESENDS + 1):
            conn = await self.pool.get()
            try:
                return await call(conn, fn, *args, **kwargs)
            except psycopg.OperationalError as exc:
                if not db.lost(conn, exc) or resend >= _RESENDS:  # type: ignore[arg-type]
                    raise
                log.warning("%s: connection lost under %s (%s): sent again on another",
                            run.workflow_id if run else "-", getattr(fn, "__name__", fn), exc)
                await _close_quietly(conn)
                if run is not None:
                    run.resent = True
                    run.reconnects += 1
            finally:
                await self.pool.put(conn)
        raise AssertionError("not reached")

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


async def wait_all(handles: Sequence[WorkflowHandle[Any] | AsyncWorkflowHandle | str],
                   timeout: db.Seconds | None = None) -> list[waiting.ChildResult]:
    """await durable.wait_all(handles, timeout) in an async workflow."""
    ids = [h if isinstance(h, str) else h.workflow_id for h in handles]
    results: list[waiting.ChildResult] = await _awaited(waiting.wait_all(ids, timeout),
                                                        "wait_all")
    return results
