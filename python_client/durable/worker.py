"""The worker loop: claim into free slots, run, heartbeat, listen, stop cleanly.

Threads and connections (each thread has its own connection, and remakes it when it is broken
or found dead: closed, or its idle socket readable, which is how a server's goodbye arrives):
  main       claims as many workflows as there are free slots (one durable.claim), then sleeps
             until a slot frees or the listener reconnects, or for poll_interval at most
             (delayed work and lost notifications are found by the poll)
  slots      N threads, each running one workflow at a time (durable.execution.Run); a slot that
             finishes one claims its next itself, in the statement that completes it
             (durable.complete_and_claim; after a failure, one durable.claim), so a busy worker
             needs no hand-off through the main thread and no statement of its own to claim. A
             run never starts on a connection found dead, and a run whose connection is lost
             gets a new one (a few tries) and goes on under the same lease. A run whose wait
             parks it (durable sleep, recv, events, children) ends as "waiting": the SQL
             released its lease, and the slot is free at once (it costs nothing until the
             wait can end and a claim hands it out again)
  heartbeat  durable.heartbeat about three times per lease timeout; a running workflow missing
             from its answer was reclaimed, released or cancelled and is told to stop; one the
             SQL says this worker holds but that runs nowhere here (its claim's reply or a slot's
             connection was lost) is handed back with durable.release
  listener   LISTEN durable_runnable; a notification for one of its queues is answered at once
             with a claim into the free slots, on the listener's connection: the one claim of
             the process for that notification (the main thread is not woken for it). Through a
             transaction pooler (transaction_pooler) LISTEN needs a session: the listener
             connects to listen_dsn (a direct connection to Postgres), and without one there is
             no listener: the main thread finds new work by polling (poll_interval)
  asyncio    when the app has async def workflows: one event loop (durable.aio.AsyncRunner)
             runs every async run as a task, up to async_concurrency at once, their statements
             sent on async_connections shared connections in pipeline mode (many runs'
             statements in flight on one; each carries its run's lease, so the SQL fences it on
             any of them)

Connection budget (connections=N): the slots share a pool of at most N connections
(psycopg_pool) instead of one each: a run takes one for each statement and gives it back while
its steps run (a checkpoint sent in pipeline mode keeps it until its answer is read, at the
run's next statement; a transactional step holds it for the step). The worker then holds at
most N + 3 server connections (main, heartbeat, listener), whatever its slot count.

Back-pressure (backpressure=True): the workflows held at once are bounded by an adaptive limit
(durable.limiter.GradientLimit, Envoy's adaptive concurrency gradient controller) on the latency
of the worker's own calls, between backpressure_min and the capacity.

Capacity: a claim asks for at most concurrency + async_concurrency workflows less those held; a
claimed workflow goes to a slot thread when it is a def workflow, to the event loop when it is
an async def one. The SQL's claim cannot tell them apart, so when one queue holds both kinds a
worker may hold more runs of one kind than its limit: they wait in the worker (their leases
kept by the heartbeat) until a slot or a task of their kind is free. Give each kind its own
queue (or its own workers) to keep each limit exact.

On SIGTERM or SIGINT it claims nothing more, lets running workflows finish for up to `grace`
seconds, tells the others to stop at their next step boundary, hands back everything it still
holds (durable.release, which also forgets the worker) and returns. A second signal skips the
grace. A SIGKILL loses nothing: the SQL reclaims the workflows once the lease expires.
"""

from __future__ import annotations

import logging
import os
import queue as queue_mod
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from . import bulk, db, otel, schedules
from .aio import AsyncRun, AsyncRunner, is_async, sync_steps_running
from .aio import connect as aconnect
from .app import Durable
from .errors import DurableError
from .execution import Run
from .limiter import GradientLimit
from .stranded import StrandedCheck

# durable.claim takes at most this many workflows per call (p_max, 1..1000: DU011 beyond)
CLAIM_MAX = 1000

# Retention batches (durable.housekeep) a worker runs per heartbeat at most, while there is more
HOUSEKEEP_BATCHES = 5

log = logging.getLogger("durable.worker")

# a run whose connection was lost tries this many times to make a new one, with pauses growing
# from 0.05 s to 2 s (about 10 s in all), then it is dropped (its lease expires)
_RUN_RECONNECT_TRIES = 10

Connect = Callable[[str | None, str], psycopg.Connection]  # (dsn or None, role) -> connection


def default_worker_id() -> str:
    """hostname-pid-random: unique per process, readable in durable.worker_status."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs the workflows of app from queues with concurrency slots.

    dsn defaults to the app's; given, it is also the app's when the app has none of its own (so
    app.enqueue inside a step goes to the worker's database). concurrency: slot threads for def
    workflows (1 or more); async_concurrency: async def runs at once on the worker's event loop
    (default 100 when the app has async workflows, else 0; ValueError below 1 when it has
    them); async_connections: connections those runs share (default 8; see durable.aio).

    connections: the slots share a pool of this many connections (1 or more; None, the
    default: one connection per slot); the worker holds at most connections + 3. backpressure:
    bound the workflows held at once by an adaptive limit (durable.limiter.GradientLimit) on
    the latency of its own calls, from backpressure_min (default 2) up to its capacity.
    transaction_pooler (default: the app's): dsn goes through a transaction pooler (PgBouncer
    in pool_mode = transaction): nothing is prepared and no session setting is made on its
    connections; listen_dsn (default: the app's), a direct connection string for LISTEN, else
    the worker polls. ValueError for a bound out of range."""

    def __init__(
        self,
        app: Durable,
        *,
        queues: Sequence[str] | None = None,
        concurrency: int = 4,
        lease_timeout: float | None = None,
        poll_interval: float = 1.0,
        grace: float = 10.0,
        worker_id: str | None = None,
        dsn: str | None = None,
        connect: Connect | None = None,
        async_concurrency: int | None = None,
        async_connections: int = 8,
        connections: int | None = None,
        backpressure: bool = False,
        backpressure_min: int = 2,
        transaction_pooler: bool | None = None,
        listen_dsn: str | None = None,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        if connections is not None and connections < 1:
            raise ValueError("connections must be 1 or more")
        self._async_names = {name for name, d in app.workflows.items() if is_async(d.fn)}
        if async_concurrency is None:
            async_concurrency = 100 if self._async_names else 0
        if async_concurrency < (1 if self._async_names else 0):
            raise ValueError("async_concurrency must be 1 or more: the app has async workflows "
                             f"({', '.join(sorted(self._async_names))})")
        if async_connections < 1:
            raise ValueError("async_connections must be 1 or more")
        self.app = app
        self.queues = list(queues) if queues else _default_queues(app)
        # runs pinned to versions no live worker has: a warning (stranded.py)
        self._stranded = StrandedCheck(list(app.workflows), self.queues, app.version)
        self.concurrency = concurrency
        self.async_concurrency = async_concurrency
        self.async_connections = async_connections
        # runs held at once, of both kinds (see the module's doc)
        self.capacity = concurrency + async_concurrency
        self.connections = connections
        self._pool: ConnectionPool | None = None
        self.transaction_pooler = (app.transaction_pooler if transaction_pooler is None
                                   else transaction_pooler)
        self.listen_dsn = listen_dsn if listen_dsn is not None else app.listen_dsn
        self.limiter = (GradientLimit(self.capacity, min_limit=min(backpressure_min,
                                                                   self.capacity))
                        if backpressure else None)
        self._runner: AsyncRunner | None = None
        self.lease_timeout = lease_timeout
        self.poll_interval = poll_interval
        self.grace = grace
        self.worker_id = worker_id or default_worker_id()
        self.dsn = dsn if dsn is not None else app.dsn
        if app.dsn is None and self.dsn is not None:
            # the app has no DSN of its own: what its steps enqueue goes where the worker runs
            app.close()
            app.dsn = self.dsn
        self._connect_fn = connect
        self.runs: dict[str, Run | AsyncRun] = {}
        self.finished: dict[str, int] = {}
        self._lock = threading.Lock()
        self._work: queue_mod.Queue[Run | None] = queue_mod.Queue()
        self._wake = threading.Event()
        self._slot_freed = threading.Event()
        self._stopping = threading.Event()
        self._hurry = threading.Event()
        self._threads_stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._heartbeat_every = 10.0
        self._reserved = 0  # slots promised to claims under way (under _lock)
        self._more = False  # the last claim got all it asked for: there may be more work

    # -- connections -----------------------------------------------------------------------------

    def connect(self, role: str) -> psycopg.Connection:
        """A new connection for one of the worker's threads.

        The main thread's and the listener's connections only claim (and register and release),
        so their commits do not wait for the WAL flush (synchronous_commit off): a claim lost
        in a crash leaves its workflow claimable, as if it had never been claimed, and the run
        that claim started cannot record anything (its lease never existed); WAL is flushed in
        order, so the run's first synchronous commit makes the claim durable too. The slots'
        connections, which record steps and finish workflows, keep the server's setting."""
        dsn = self.dsn
        prepare = not self.transaction_pooler
        if role == "listener" and self.listen_dsn:
            dsn, prepare = self.listen_dsn, True  # a direct connection: a session of its own
        if self._connect_fn is not None:
            conn = self._connect_fn(dsn, role)
            db.configure(conn, prepare=prepare)
        else:
            conn = db.connect(dsn, application_name=f"durable {role} {self.worker_id}",
                              prepare=prepare)
        if role in ("main", "listener") and prepare:
            # (not through a transaction pooler: the setting would stay on a server connection
            # that other clients are given next)
            conn.execute("set synchronous_commit = off")
        if self.limiter is not None and role in ("main", "slot"):
            conn._durable_observe = self.limiter.observe  # type: ignore[attr-defined]
        return conn

    def _open_pool(self) -> None:
        """The slots' shared pool (connections=N): at most N connections, made as needed."""
        if self.connections is None:
            return
        prepare = not self.transaction_pooler
        observe = self.limiter.observe if self.limiter is not None else None

        def configure(conn: psycopg.Connection) -> None:
            db.configure(conn, prepare=prepare)
            if observe is not None:
                conn._durable_observe = observe  # type: ignore[attr-defined]

        connection_class: type[psycopg.Connection] = psycopg.Connection
        if self._connect_fn is not None:  # the pool makes its connections with connect too
            connect_fn, dsn = self._connect_fn, self.dsn

            class _Made(psycopg.Connection):
                @classmethod
                def connect(cls, *args: object, **kwargs: object) -> psycopg.Connection:  # type: ignore[override]
                    return connect_fn(dsn, "slot")

            connection_class = _Made
        self._pool = ConnectionPool(
            db.resolve_dsn(self.dsn), min_size=min(2, self.connections),
            max_size=self.connections, open=False, configure=configure,
            connection_class=connection_class,
            name=f"durable-slots-{self.worker_id}",
            kwargs={"autocommit": True, "prepare_threshold": 5 if prepare else None,
                    "application_name": f"durable slot {self.worker_id}"[:63]})
        self._pool.open(wait=False)

    def _pool_take(self, run: Run) -> psycopg.Connection | None:
        """A connection of the shared pool for a run's next statement, waiting while all are
        in use; None after _RUN_RECONNECT_TRIES seconds without one, or when the run must stop
        anyway (interrupted, worker stopping)."""
        assert self._pool is not None
        for _ in range(_RUN_RECONNECT_TRIES):
            if self._threads_stop.is_set():
                return None
            try:
                return self._pool.getconn(timeout=1.0)
            except PoolTimeout:
                log.info("%s: no free connection in the pool for 1s", run.workflow_id)
        return None

    def held_connections(self) -> int:
        """Server connections the worker holds now: main, heartbeat, listener (when it
        listens), and the slots' (their pool's, or one per slot)."""
        own = 2 + (1 if self._listens() else 0)
        if self._pool is not None:
            return own + self._pool.get_stats().get("pool_size", 0)
        return own + self.concurrency

    def _listens(self) -> bool:
        return not self.transaction_pooler or bool(self.listen_dsn)

    async def aconnect(self) -> psycopg.AsyncConnection:
        """A new connection for the async runs (shared by them; the server's synchronous_commit,
        as the slots' connections)."""
        return await aconnect(self.dsn, application_name=f"durable async {self.worker_id}")

    def _reconnect(self, role: str, stop: threading.Event) -> psycopg.Connection | None:
        """Connect, retrying with backoff (Postgres may be restarting) until stop is set."""
        delay = 0.1
        while not stop.is_set():
            try:
                return self.connect(role)
            except psycopg.OperationalError as exc:
                log.warning("%s: cannot connect (%s), retrying in %.1fs", role, exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, 5.0)
        return None

    def _reconnect_run(self, run: Run) -> psycopg.Connection | None:
        """A new slot connection for a run whose connection was lost, within bounded tries; None
        when none could be made, or the run must stop anyway (interrupted, worker stopping)."""
        delay = 0.05
        for _ in range(_RUN_RECONNECT_TRIES):
            if run.interrupted.is_set() or self._threads_stop.is_set():
                return None
            try:
                return self.connect("slot")
            except psycopg.OperationalError as exc:
                log.warning("%s: cannot connect (%s), retrying in %.2fs", run.workflow_id, exc,
                            delay)
                run.interrupted.wait(delay)
                delay = min(delay * 2, 2.0)
        return None

    # -- control ---------------------------------------------------------------------------------

    def stop(self, hurry: bool = False) -> None:
        """Ask the worker to stop: finish or release its work, then return from run()."""
        if self._stopping.is_set():
            hurry = True
        self._stopping.set()
        if hurry:
            self._hurry.set()
        self._wake.set()
        self._slot_freed.set()

    def _on_signal(self, signum: int, frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        self.stop()

    def run(self, install_signals: bool = True) -> None:
        """Run until stop() (or SIGTERM/SIGINT when install_signals)."""
        if install_signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        conn = self._reconnect("main", self._stopping)
        if conn is None:
            return
        try:
            db.check_schema(conn)  # once per worker, on its first connection
        except BaseException:
            conn.close()
            raise
        self._register(conn)
        self._declare_schedules(conn)
        log.info("worker %s: queues %s, %d slots%s, lease timeout %s", self.worker_id,
                 ",".join(self.queues), self.concurrency,
                 f", {self.async_concurrency} async runs on {self.async_connections} connections"
                 if self._async_names else "", self._lease_text())
        if self._async_names:
            self._runner = AsyncRunner(self.app, self.aconnect, self.async_connections,
                                       self._async_done)
            self._runner.start()
        self._open_pool()
        self._start_threads()
        try:
            self._loop(conn)
        finally:
            self._shutdown()
            conn.close()

    def _lease_text(self) -> str:
        return "server default" if self.lease_timeout is None else f"{self.lease_timeout}s"

    def _register(self, conn: psycopg.Connection) -> None:
        # the workflows this worker has code for and their version: its claims take only those
        # (a rolling deploy strands nothing: unknown names and other versions stay pending)
        lease = db.register(conn, self.worker_id, self.app.registrations(), self.app.version,
                            self.lease_timeout)
        # the lease timeout that applies (the server's default unless given) sets the pace
        self._heartbeat_every = max(lease.total_seconds() / 3, 0.05)

    def _start_threads(self) -> None:
        targets = [("heartbeat", self._heartbeat_loop)]
        if self._listens():
            targets.append(("listener", self._listen_loop))
        targets += [(f"slot-{i}", self._slot_loop) for i in range(self.concurrency)]
        for name, target in targets:
            thread = threading.Thread(target=target, name=f"durable-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    # -- main loop: claim into free slots --------------------------------------------------------

    def _loop(self, conn: psycopg.Connection) -> None:
        while not self._stopping.is_set():
            self._slot_freed.clear()
            with self._lock:
                free = self._room()
            if free <= 0:
                self._slot_freed.wait(self.poll_interval)
                continue
            self._wake.clear()
            try:
                if not db.alive(conn):
                    raise psycopg.OperationalError("the connection was found dead")
                runs = self._claim(conn, free)
            except psycopg.OperationalError as exc:
                log.warning("claim: connection lost (%s): reconnecting", exc)
                conn.close()
                new = self._reconnect("main", self._stopping)
                if new is None:
                    return
                conn = new
                continue
            for run in runs:
                self._dispatch(run)
            if len(runs) < free:
                self._wake.wait(self.poll_interval)

    def _claim(self, conn: psycopg.Connection, want: int) -> list[Run | AsyncRun]:
        """Claim up to want workflows, never more than the slots not yet taken or promised. The
        lock is not held during the call: the slots reserved meanwhile keep the count right, and
        the heartbeat hands nothing back while a claim is under way."""
        with self._lock:
            if self._stopping.is_set():
                return []
            n = min(want, self._room(), CLAIM_MAX)
            if n <= 0:
                return []
            self._reserved += n
        claimed: list[db.Claimed] = []
        try:
            claimed = db.claim(conn, self.worker_id, self.queues, n, self.lease_timeout)
            log.debug("claim by %s: asked for %d, got %d", threading.current_thread().name, n,
                      len(claimed))
        finally:
            with self._lock:
                self._reserved -= n
                self._more = len(claimed) == n
                runs = self._take_on(claimed)
        return runs

    def _room(self) -> int:
        """Workflows a claim may take now (under _lock): the capacity, or the adaptive limit
        when it is lower, less those held and those promised to claims under way."""
        limit = self.capacity if self.limiter is None else min(self.capacity, self.limiter.limit)
        return limit - len(self.runs) - self._reserved

    def _take_on(self, claimed: list[db.Claimed]) -> list[Run | AsyncRun]:
        """Runs for workflows just claimed, registered as running here (under _lock)."""
        runs = []
        for item in claimed:
            log.info("claimed %s %s (attempt %d, recorded steps: %s)", item.name,
                     item.workflow_id, item.attempt,
                     len(item.steps) if isinstance(item.steps, list) else "undecodable")
            run: Run | AsyncRun
            if item.name in self._async_names and self._runner is not None:
                run = AsyncRun(self.app, item, self._runner)
            else:
                run = Run(self.app, item)
            self.runs[item.workflow_id] = run
            runs.append(run)
        return runs

    def _dispatch(self, run: Run | AsyncRun) -> None:
        """A claimed run to where it runs: the event loop (async) or the slots' queue."""
        if isinstance(run, AsyncRun):
            assert self._runner is not None
            run.claim_next = self._claim_next
            self._runner.submit(run)
        else:
            self._work.put(run)

    def _async_done(self, run: AsyncRun, outcome: str) -> None:
        """An async run has ended (called in the loop's thread): forget it, free its place."""
        level = logging.WARNING if outcome in ("stopped", "dropped", "failed") else logging.INFO
        log.log(level, "%s %s: %s%s (replayed %d steps, ran %d%s)", run.claimed.name,
                run.workflow_id, outcome, f" ({run.reason})" if run.reason else
                f": {run.failure}" if run.failure and outcome != "succeeded" else "",
                run.replayed, run.executed,
                f", {run.reconnects} resent" if run.reconnects else "")
        runs: list[Run | AsyncRun] = []
        with self._lock:
            self.runs.pop(run.workflow_id, None)
            self.finished[run.workflow_id] = self.finished.get(run.workflow_id, 0) + 1
            if run.reserved:  # what its completion claimed takes its place (see _adopt)
                self._reserved -= 1
                claimed, run.next_claimed = run.next_claimed, []
                if run.claim_answered:
                    self._more = len(claimed) == 1
                runs = self._take_on(claimed)
        for new in runs:
            self._dispatch(new)
        if not runs or self._stopping.is_set():
            # a place is free (not taken by what the completion claimed): the main thread claims
            # for it (waking it for nothing on every completion cost the loop's thread a tenth
            # of its time in thread switches)
            self._slot_freed.set()

    # -- slots -----------------------------------------------------------------------------------

    def _slot_loop(self) -> None:
        conn: psycopg.Connection | None = None
        run: Run | AsyncRun | None = None
        while True:
            if run is None:
                run = self._work.get()
                if run is None:
                    break
            if isinstance(run, AsyncRun):  # claimed by this slot's completion or claim
                self._dispatch(run)
                run = None
                self._slot_freed.set()
                continue
            try:
                if self._pool is None:
                    if conn is not None and not db.alive(conn):
                        log.info("slot: its connection was found dead: making a new one")
                        conn.close()
                        conn = None
                    if conn is None:
                        conn = self._reconnect("slot", self._threads_stop)
                    if conn is None:
                        continue
                    run.reconnect = partial(self._reconnect_run, run)
                else:  # the run takes the pool's connections itself
                    run.reconnect = partial(self._pool_take, run)
                    run.give_back = self._pool.putconn
                run.claim_next = self._claim_next
                try:
                    outcome = otel.execute(run, conn)
                finally:
                    # remade if the run's connection was lost (a pool's is given back)
                    conn = run.conn if self._pool is None else None
                level = logging.WARNING if outcome in ("stopped", "failed") else logging.INFO
                log.log(level, "%s %s: %s%s (replayed %d steps, ran %d%s)", run.claimed.name,
                        run.workflow_id, outcome, f" ({run.reason})" if run.reason else
                        f": {run.failure}" if run.failure and outcome != "succeeded" else "",
                        run.replayed, run.executed,
                        f", {run.reconnects} new connections" if run.reconnects else "")
            except psycopg.OperationalError as exc:
                # The run is dropped here; the heartbeat hands it back (durable.release) and it
                # resumes from its last checkpoint.
                log.warning("%s: connection lost (%s): dropping the run", run.workflow_id, exc)
                if conn is not None:
                    conn.close()
                conn = None
            except Exception:
                log.exception("%s: unexpected error in the worker", run.workflow_id)
            finally:
                done, run = run, self._adopt(run)
            if run is None and not done.claim_answered:
                run = self._next_for_slot(conn)
            if run is None:
                self._slot_freed.set()
        if conn is not None:
            conn.close()

    def _claim_next(self) -> tuple[str, list[str], float | None] | None:
        """For a run about to complete: reserve its slot for the workflow its completion claims
        (durable.complete_and_claim), while the last claim found all it asked for."""
        with self._lock:
            if not self._more or self._stopping.is_set():
                return None
            # back-pressure: the completing run (still held) gives its place to the one it
            # claims, unless the adaptive limit has fallen below what is held
            if self.limiter is not None and len(self.runs) > self.limiter.limit:
                return None
            self._reserved += 1
        return self.worker_id, self.queues, self.lease_timeout

    def _adopt(self, run: Run) -> Run | AsyncRun | None:
        """The slot's run has ended: forget it and take on what its completion claimed (the
        slot's next run, or None), in one step under the lock, so the heartbeat never sees a
        claimed workflow as held by nobody here."""
        with self._lock:
            self.runs.pop(run.workflow_id, None)
            self.finished[run.workflow_id] = self.finished.get(run.workflow_id, 0) + 1
            if not run.reserved:
                return None
            self._reserved -= 1
            claimed, run.next_claimed = run.next_claimed, []
            if run.claim_answered:
                self._more = len(claimed) == 1
            runs = self._take_on(claimed)
            return runs[0] if runs else None

    def _next_for_slot(self, conn: psycopg.Connection | None) -> Run | AsyncRun | None:
        """The slot's next workflow, claimed on its own connection, while the last claim found
        all it asked for; None when there is none (or the worker stops): the slot then waits for
        the main thread, which claims on notifications and polls."""
        if self._pool is not None and self._more and not self._stopping.is_set():
            try:
                with self._pool.connection(timeout=1.0) as pooled:
                    runs = self._claim(pooled, 1)
            except psycopg.OperationalError as exc:  # PoolTimeout included
                log.warning("claim: %s", exc)
                return None
            return runs[0] if runs else None
        if not self._more or conn is None or self._stopping.is_set() or not db.alive(conn):
            return None
        try:
            runs = self._claim(conn, 1)
        except psycopg.OperationalError as exc:
            log.warning("claim: connection lost (%s)", exc)
            conn.close()
            return None
        return runs[0] if runs else None

    # -- heartbeat -------------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        conn: psycopg.Connection | None = None
        while not self._threads_stop.wait(self._heartbeat_every):
            try:
                if conn is not None and not db.alive(conn):
                    conn.close()
                    conn = None
                if conn is None:
                    conn = self._reconnect("heartbeat", self._threads_stop)
                    if conn is None:
                        break
                self._beat(conn)
                self._materialize(conn)
                self._housekeep(conn)
                self._stranded.check(conn)
            except psycopg.OperationalError as exc:
                log.warning("heartbeat: connection lost (%s): reconnecting", exc)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _beat(self, conn: psycopg.Connection) -> None:
        with self._lock:
            # busy: every run a slot executes, a cancelled one still inside a step included
            held = db.heartbeat(conn, self.worker_id, self.lease_timeout, len(self.runs),
                                self.held_connections(),
                                None if self.limiter is None else self.limiter.limit)
            for workflow_id, run in self.runs.items():
                # a run that is finishing is no longer held once its complete or fail commits,
                # and that call's own answer says whether its lease was lost
                if held.get(workflow_id) != run.lease and not run.finishing:
                    if not run.interrupted.is_set():
                        log.warning("%s: no longer held by this worker (reclaimed, released or "
                                    "cancelled): stopping it", workflow_id)
                    run.interrupt("lease lost (heartbeat)")
            # a claim under way may have committed workflows it has not registered yet
            orphans = [wid for wid, lease in held.items()
                       if wid not in self.runs or self.runs[wid].lease != lease]
            if orphans and self._reserved == 0:
                released = db.release(conn, self.worker_id, orphans)
                log.warning("released %d workflows held but not running here: %s", released,
                            ", ".join(orphans))

    # -- schedules (schedules.py): declared at start, due ticks started with each heartbeat -------

    def _declare_schedules(self, conn: psycopg.Connection) -> None:
        for definition in self.app.schedules:
            try:
                row = schedules.declare(conn, definition)
            except psycopg.OperationalError:
                raise
            except (psycopg.Error, DurableError) as exc:  # e.g. no durable_client (42501)
                log.error("schedule %s of %s not set: %s", definition.name or "",
                          definition.workflow_name(), str(exc).strip())
                continue
            log.info("schedule %s: %s %s, next tick %s", definition.name or
                     definition.workflow_name(), definition.cron, definition.time_zone,
                     row["next_tick"])

    def _housekeep(self, conn: psycopg.Connection) -> None:
        """Retention (durable.settings.retain_*): durable.housekeep, one bounded batch per call,
        while there is more, at most HOUSEKEEP_BATCHES per heartbeat; the SQL elects one session
        at a time (the others get nothing to do at once), and keeps nothing by default."""
        for _ in range(HOUSEKEEP_BATCHES):
            try:
                purged, more = bulk.housekeep(conn, self.worker_id)
            except psycopg.OperationalError:
                raise
            except (psycopg.Error, DurableError) as exc:  # 55P03: the next heartbeat tries again
                log.warning("housekeep: %s", str(exc).strip())
                return
            if purged:
                log.debug("housekeeping purged %d finished workflows", purged)
            if not more:
                return

    def _materialize(self, conn: psycopg.Connection) -> None:
        try:
            started = schedules.materialize(conn)
        except psycopg.OperationalError:
            raise
        except (psycopg.Error, DurableError) as exc:  # 55P03: the next heartbeat tries again
            log.warning("materialize_schedules: %s", str(exc).strip())
            return
        if started:
            log.debug("started %d scheduled workflows", started)

    # -- listener --------------------------------------------------------------------------------

    def _listen_loop(self) -> None:
        conn: psycopg.Connection | None = None
        wanted = set(self.queues)
        while not self._threads_stop.is_set():
            try:
                if conn is None or conn.broken or conn.closed:
                    conn = self._reconnect("listener", self._threads_stop)
                    if conn is None:
                        break
                    conn.execute("listen durable_runnable")
                    self._wake.set()  # anything notified while we were away: claim now
                try:
                    notes = conn.notifies(timeout=0.5, stop_after=1)
                except TypeError:  # psycopg < 3.2 cannot wait with a timeout
                    log.warning("psycopg %s has no notifies(timeout=): polling only",
                                psycopg.__version__)
                    break
                # read the generator to its end: it holds the connection until then
                if [note for note in notes if note.payload in wanted]:
                    # claim here, on the listener's connection: one thread hand-off less
                    # between the enqueue's commit and the first step than waking the main
                    # thread to claim (which still wakes, to see whether more is wanted)
                    for run in self._claim(conn, self.capacity):
                        self._dispatch(run)
                    self._wake.set()
            except psycopg.OperationalError as exc:
                log.warning("listener: connection lost (%s): reconnecting", exc)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    # -- shutdown --------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        deadline = time.monotonic() + self.grace
        while self.runs and not self._hurry.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._slot_freed.clear()
            if self.runs:
                self._slot_freed.wait(min(left, 0.2))
        with self._lock:
            remaining = list(self.runs.values())
        for run in remaining:
            run.interrupt("worker stopping")
        # runs between steps stop at once; give the others a moment to reach a boundary
        end = time.monotonic() + 0.5
        while self.runs and time.monotonic() < end:
            time.sleep(0.02)
        self._threads_stop.set()
        if self._runner is not None:
            self._runner.stop()
        for thread in self._threads:
            if thread.name in ("durable-heartbeat", "durable-listener"):
                thread.join(timeout=5)
        conn = self._last_connection()
        try:
            released = db.release(conn, self.worker_id, None) if conn is not None else 0
            log.info("worker %s stopped: released %d workflows", self.worker_id, released)
        except psycopg.Error as exc:
            log.warning("could not release on stop (%s): the leases will expire", exc)
        finally:
            if conn is not None:
                conn.close()
        for _ in range(self.concurrency):
            self._work.put(None)
        if self._pool is not None:
            # slots still inside a step give their connection back to a closed pool: closed
            self._pool.close(timeout=5.0)

    def _last_connection(self) -> psycopg.Connection | None:
        for delay in (0.1, 0.5, 1.0, None):
            try:
                return self.connect("main")
            except psycopg.OperationalError as exc:
                log.warning("cannot connect to release on stop (%s)", exc)
                if delay is not None:
                    time.sleep(delay)
        return None

    def leftover_threads(self) -> bool:
        """True when a slot thread, or the event loop's thread pool, is still inside a step (the
        process should exit hard)."""
        return (any(t.is_alive() for t in self._threads if t.name.startswith("durable-slot"))
                or sync_steps_running() > 0)


def _default_queues(app: Durable) -> list[str]:
    return sorted({d.queue or "default" for d in app.workflows.values()}) or ["default"]
