"""Connections and calls: every statement the client sends to Postgres is in this module.

Each call is one `select ... from durable.<function>(...)` or one read of a `durable.*` view, and
so one round trip (and `LISTEN` on the channels the SQL notifies: durable_finished,
durable_event). SQL errors of class DU come back as the exceptions of durable.errors.

Two of the worker's calls can also be sent without waiting for their answer (libpq's pipeline
mode, each with its own Sync, so each commits on its own whatever the client does next):
send_checkpoint and send_complete_and_claim; receive() reads the answers later. alive() and
lost() tell a dead connection from a live one.
"""

from __future__ import annotations

import functools
import json
import os
import re
import select
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Transformer
from psycopg.rows import dict_row
from psycopg.types.datetime import TimestamptzLoader
from psycopg.types.json import Jsonb, set_json_loads

from .errors import VALUE_HINT, InvalidValue, UnsupportedSchema, translate

Seconds = float | int | timedelta

SCHEMA_VERSION = "0.2"
"""The major.minor of the durable schema (durable.version()) this client supports."""


def resolve_dsn(dsn: str | None) -> str:
    """The DSN to use: dsn itself, else $DATABASE_URL, else libpq's defaults (PG* variables)."""
    return dsn if dsn is not None else os.environ.get("DATABASE_URL", "")


def connect(
    dsn: str | None = None, *, autocommit: bool = True, application_name: str = "durable",
    prepare: bool = True,
) -> psycopg.Connection:
    """A new connection: autocommit (no BEGIN of its own); a statement run 5 times on it is
    prepared, once per connection, in one round trip of its own (psycopg's default), so that
    the server stops parsing and planning the worker's few hot calls.

    prepare=False, for a connection through a transaction pooler (PgBouncer's pool_mode =
    transaction, whose 1.18 does not carry protocol-level prepared statements from one server
    connection to the next): nothing is ever prepared on it (psycopg's prepare_threshold=None,
    and the pipelined calls are sent as unnamed statements, see no_prepare)."""
    conn = psycopg.connect(
        resolve_dsn(dsn),
        autocommit=autocommit,
        application_name=application_name[:63],
        prepare_threshold=5 if prepare else None,
    )
    configure(conn, prepare=prepare)
    return conn


class Undecodable:
    """A jsonb value read from Postgres that Python's json cannot decode (nested too deep: a
    RecursionError), kept as its text: it fails the one run it belongs to, not the worker."""

    __slots__ = ("reason", "text")

    def __init__(self, text: bytes, reason: str):
        self.text = text
        self.reason = reason

    def __repr__(self) -> str:
        return f"<JSON too deep to decode ({len(self.text)} bytes)>"


def _loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except RecursionError as exc:
        return Undecodable(data, str(exc))


INFINITY = datetime.max.replace(tzinfo=timezone.utc)
"""How the timestamptz 'infinity' reads (the run_at of a run that waits without a deadline)."""
MINUS_INFINITY = datetime.min.replace(tzinfo=timezone.utc)


class _TimestamptzLoader(TimestamptzLoader):
    """timestamptz, with 'infinity' and '-infinity' (which Python's datetime cannot hold) read
    as INFINITY and MINUS_INFINITY instead of refused."""

    def load(self, data: Any) -> datetime:
        if data == b"infinity":
            return INFINITY
        if data == b"-infinity":
            return MINUS_INFINITY
        return super().load(data)


def configure(conn: psycopg.Connection, *, prepare: bool = True) -> None:
    """Set up a connection for durable's calls: jsonb too deep to decode is read as an
    Undecodable value instead of raising RecursionError for the whole result, and the
    timestamptz infinity as INFINITY. prepare=False: nothing is prepared on it (see connect)."""
    set_json_loads(_loads, conn)  # type: ignore[arg-type]  # psycopg's jsonb loaders pass bytes
    conn.adapters.register_loader("timestamptz", _TimestamptzLoader)
    if not prepare:
        conn.prepare_threshold = None
        conn._durable_no_prepare = True  # type: ignore[attr-defined]


def no_prepare(conn: psycopg.Connection) -> bool:
    """True when conn was set up with prepare=False (it goes through a transaction pooler)."""
    return getattr(conn, "_durable_no_prepare", False)


# Latency of the worker's own calls, for its adaptive concurrency limit (durable.limiter): a
# connection whose _durable_observe is set calls it with the seconds each call waited for its
# answer (a synchronous call's round trip; the wait in receive() for pipelined ones).
def _observe(conn: psycopg.Connection, seconds: float) -> None:
    observe = getattr(conn, "_durable_observe", None)
    if observe is not None:
        observe(seconds)


def check_schema(conn: psycopg.Connection) -> str:
    """durable.version() of conn's database (one round trip); UnsupportedSchema, saying what to
    run, when it is missing (no schema, or one older than 0.2.0) or its major.minor is not
    SCHEMA_VERSION. The app, the worker and the CLI call it on the first connection they make."""
    try:
        with conn.cursor() as cur:
            cur.execute("select durable.version()")
            row = cur.fetchone()
    except (psycopg.errors.UndefinedFunction, psycopg.errors.InvalidSchemaName) as exc:
        raise UnsupportedSchema(
            "this database has no durable.version(): the durable schema is not deployed in it, "
            f"or is older than {SCHEMA_VERSION}.0; this client needs schema {SCHEMA_VERSION}.x: "
            "run `durable db deploy` (or `sqitch deploy`) against it") from exc
    version = str(row[0]) if row else ""
    if ".".join(version.split(".")[:2]) == SCHEMA_VERSION:
        return version
    if _version_key(version) < _version_key(SCHEMA_VERSION):
        todo = ("upgrade the schema with `durable db deploy` (or `sqitch deploy`) from this "
                "client's version of durable")
    else:
        todo = ("install a durable client that supports it, or deploy schema "
                f"{SCHEMA_VERSION}.x with `durable db deploy` (or `sqitch deploy`)")
    raise UnsupportedSchema(f"the durable schema in this database is {version!r}; this client "
                            f"supports {SCHEMA_VERSION}.x: {todo}")


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return (-1,)


def interval(value: Seconds | None) -> timedelta | None:
    """A number of seconds (or a timedelta) as a timedelta, None kept."""
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


def _json(value: Any) -> Jsonb:
    return value if isinstance(value, Jsonb) else Jsonb(value)


# what json.dumps writes for the code points jsonb refuses (NUL) or cannot keep as they are
# (surrogates; a non-BMP character is written as a pair too, hence the walk to confirm)
_SUSPECT = ("\\u0000", "\\ud")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_text(value: Any, what: str) -> str:
    """value as JSON text for a jsonb argument; InvalidValue naming what and where when it is
    not JSON (a set, NaN, nested too deep) or holds what jsonb cannot (NUL, a surrogate)."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidValue(f"{what} is not JSON: {exc}") from None
    if _SUSPECT[0] in text or _SUSPECT[1] in text:
        where = _unstorable(value, "$")
        if where is not None:
            raise InvalidValue(f"{what} holds {where}", hint=VALUE_HINT)
    return text


def _unstorable(value: Any, path: str) -> str | None:
    """Where value holds a string jsonb cannot store, described, or None."""
    if isinstance(value, str):
        bad = _UNSTORABLE.search(value)
        if bad is None:
            return None
        char = bad.group()
        kind = ("a NUL character (\\u0000)" if char == "\x00"
                else f"a surrogate (\\u{ord(char):04x})")
        return f"{kind} at {path}"
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = str(key)
            sub = (f"{path}.{key_text}" if _IDENTIFIER.fullmatch(key_text)
                   else f"{path}[{json.dumps(key_text)}]")
            where = _unstorable(key_text, f"{sub} (in the key)") or _unstorable(item, sub)
            if where is not None:
                return where
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            where = _unstorable(item, f"{path}[{i}]")
            if where is not None:
                return where
    return None


def storable_text(text: str) -> str:
    """text with the code points jsonb and text cannot hold (NUL, surrogates) written out as
    \\uXXXX: for errors, which must always be recordable and readable."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# A worker function waits at most its lock_timeout (2 s, deploy/lock_timeouts.sql) for a lock
# another session holds, then raises 55P03 having written nothing; a deadlock (40P01), which
# Postgres breaks by rolling one transaction back, leaves nothing written either. Outside a
# transaction of the caller's, the same call is retried this many times, after these pauses
# (seconds); then the error goes up (the worker drops the run, and its heartbeat hands it back).
LOCK_RETRIES = 3
_LOCK_PAUSES = (0.05, 0.2, 0.5)


def _fetch(cur: psycopg.Cursor[Any], sql: str, params: Sequence[Any] | dict[str, Any]) -> list[Any]:
    """Run sql on cur and return its rows; a DU error comes out as its durable.errors class."""
    if pending(cur.connection):
        raise RuntimeError("a statement sent in pipeline mode on this connection has not been "
                           "answered yet: call durable.db.receive() first")
    tries = 0
    while True:
        try:
            began = time.perf_counter()
            cur.execute(sql, params)
            rows = cur.fetchall()
            _observe(cur.connection, time.perf_counter() - began)
            return rows
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            conn = cur.connection
            if (tries >= LOCK_RETRIES or not conn.autocommit
                    or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE):
                raise
            time.sleep(_LOCK_PAUSES[tries])
            tries += 1
        except psycopg.Error as exc:
            mapped = translate(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        except UnicodeEncodeError as exc:  # a str holding a surrogate, refused by the encoder
            raise InvalidValue(f"value refused: {exc}", hint=VALUE_HINT) from exc


def _rows(conn: psycopg.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return _fetch(cur, sql, params)


def _hot(conn: psycopg.Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """_rows for the worker's calls made for every workflow (claim, checkpoint,
    complete_and_claim): one cursor kept with the connection and tuple rows, since a new
    dict-row cursor per call was a fifth of the worker's own CPU time."""
    cur = getattr(conn, "_durable_cursor", None)
    if cur is None or cur.closed:
        cur = conn.cursor()
        conn._durable_cursor = cur  # type: ignore[attr-defined]
    return _fetch(cur, sql, params)


@functools.lru_cache(maxsize=64)
def _text_array(items: tuple[str, ...]) -> str:
    """A text[] literal: cheaper to send than a list, which psycopg inspects on every call."""
    quoted = ('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in items)
    return "{" + ",".join(quoted) + "}"


def _named_call(function: str, args: dict[str, Any], casts: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """`select * from durable.f(p_a => %(a)s::cast, ...)` with only the arguments given (not
    None), so that the SQL's own defaults apply to the others."""
    given = {k: v for k, v in args.items() if v is not None}
    parts = [f"p_{k} => %({k})s{casts.get(k, '')}" for k in given]
    return f"select * from durable.{function}({', '.join(parts)})", given


# -- enqueue -------------------------------------------------------------------------------------

_ENQUEUE_CASTS = {
    "name": "::text", "input": "::jsonb", "queue": "::text", "workflow_id": "::text",
    "priority": "::integer", "run_at": "::timestamptz", "delay": "::interval",
    "max_attempts": "::integer", "backoff_base": "::interval", "backoff_max": "::interval",
    "max_lost_leases": "::integer", "timeout": "::interval",
    "concurrency_key": "::text", "dedup_key": "::text", "if_exists": "::text",
    "trace_context": "::text",
}


def enqueue(
    conn: psycopg.Connection,
    name: str,
    input: Any = None,
    *,
    queue: str | None = None,
    workflow_id: str | None = None,
    priority: int | None = None,
    run_at: datetime | None = None,
    delay: Seconds | None = None,
    max_attempts: int | None = None,
    backoff_base: Seconds | None = None,
    backoff_max: Seconds | None = None,
    max_lost_leases: int | None = None,
    timeout: Seconds | None = None,
    concurrency_key: str | None = None,
    dedup_key: str | None = None,
    if_exists: str | None = None,
    trace_context: str | None = None,
) -> tuple[str, bool]:
    """durable.enqueue: start workflow name; returns (workflow_id, created). Arguments left
    None take the defaults the workflow's workers registered, else the SQL's own. timeout
    (seconds, more than 0) gives the run a deadline, run_at + timeout, after which it and its
    children are cancelled (DU011 when out of range). concurrency_key: the key its queue's
    key_concurrency limits; dedup_key: refused (DU019) while another run of the queue with that
    key waits for its first claim; if_exists="refuse_different_input": a reused id with
    another input is refused (DU018) instead of returning the existing run. trace_context: a
    W3C traceparent stored with the run and handed to its workers (DU011 when malformed).

    run_at must be an aware datetime (datetime.now(timezone.utc), ...): a naive one would be
    read in the session's time zone, so it is refused (InvalidValue)."""
    if run_at is not None and run_at.utcoffset() is None:
        raise InvalidValue(f"run_at {run_at.isoformat()} has no time zone: pass an aware "
                           "datetime, e.g. datetime.now(timezone.utc) or "
                           "datetime(..., tzinfo=timezone.utc)")
    sql, params = _named_call(
        "enqueue",
        {
            "name": name, "input": raw_json(json_text(input, "the workflow's input")),
            "queue": queue, "workflow_id": workflow_id,
            "priority": priority, "run_at": run_at, "delay": interval(delay),
            "max_attempts": max_attempts, "backoff_base": interval(backoff_base),
            "backoff_max": interval(backoff_max), "max_lost_leases": max_lost_leases,
            "timeout": interval(timeout), "concurrency_key": concurrency_key,
            "dedup_key": dedup_key, "if_exists": if_exists, "trace_context": trace_context,
        },
        _ENQUEUE_CASTS,
    )
    row = _rows(conn, sql, params)[0]
    return row["workflow_id"], row["created"]


def register(conn: psycopg.Connection, worker: str, workflows: list[dict[str, Any]],
             version: str | None, lease_timeout: Seconds | None = None) -> timedelta:
    """durable.register: the workflows the worker has code for (with their declared defaults)
    and the version of that code; its claims take only those. Returns the lease timeout in
    effect. Also registers the worker, as heartbeat does."""
    return _rows(conn, "select durable.register(%s::text, %s::jsonb, %s::text, %s::interval)"  # type: ignore[no-any-return]
                       " as lease_timeout",
                 [worker, raw_json(json_text(workflows, "the registered workflows")), version,
                  interval(lease_timeout)])[0]["lease_timeout"]


def enqueue_batch(conn: psycopg.Connection, items: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """durable.enqueue_batch: items are objects with the keys of enqueue; one row per item."""
    rows = _rows(conn, "select workflow_id, created from durable.enqueue_batch(%s::jsonb)",
                 [raw_json(json_text(items, "the batch"))])
    return [(r["workflow_id"], r["created"]) for r in rows]


# -- worker calls --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A workflow handed to a worker by durable.claim, with its recorded steps."""

    workflow_id: str
    name: str
    queue: str
    input: Any
    lease: int
    attempt: int
    max_attempts: int
    steps: list[dict[str, Any]]
    trace_context: str | None = None  # the W3C traceparent it was enqueued with


def claim(
    conn: psycopg.Connection,
    worker: str,
    queues: Sequence[str],
    max: int = 1,
    lease_timeout: Seconds | None = None,
) -> list[Claimed]:
    """durable.claim: up to max runnable workflows of queues for worker."""
    rows = _hot(
        conn,
        "select workflow_id, name, queue, input, lease, attempt, max_attempts, steps,"
        " trace_context from durable.claim(%s::text, %s::text[], %s::integer, %s::interval)",
        [worker, _text_array(tuple(queues)), max, interval(lease_timeout)],
    )
    return [Claimed(*r) for r in rows]


@dataclass(frozen=True)
class StepOutcome:
    """What durable.checkpoint answered: recorded by this call or before, and what counts."""

    recorded: bool
    output: Any
    error: Any


def checkpoint(
    conn: psycopg.Connection,
    workflow_id: str,
    lease: int,
    step_id: int,
    name: str,
    output: Any = None,
    error: Any = None,
    started_at: datetime | None = None,
) -> StepOutcome:
    """durable.checkpoint: record step step_id's output (or final error), once."""
    rows = _hot(
        conn,
        "select recorded, output, error from durable.checkpoint(%s::text, %s::bigint,"
        " %s::integer, %s::text, %s::jsonb, %s::jsonb, %s::timestamptz)",
        [workflow_id, lease, step_id, name, _json(output),
         None if error is None else _json(error), started_at],
    )
    return StepOutcome(*rows[0])


@dataclass(frozen=True)
class StepFailure:
    """What durable.step_failed decided: retry after retry_in, or the outcome that counts."""

    retry: bool
    retry_in: timedelta | None
    tries: int
    output: Any
    error: Any
    retry_in_seconds: float | None = None  # retry_in in seconds (for drivers; Python has retry_in)


def step_failed(
    conn: psycopg.Connection,
    workflow_id: str,
    lease: int,
    step_id: int,
    name: str,
    error: Any,
    *,
    max_attempts: int | None = None,
    backoff_base: Seconds | None = None,
    backoff_max: Seconds | None = None,
    started_at: datetime | None = None,
) -> StepFailure:
    """durable.step_failed: record a failed try; the SQL decides whether to retry and when."""
    sql, params = _named_call(
        "step_failed",
        {
            "workflow_id": workflow_id, "lease": lease, "step_id": step_id, "name": name,
            "error": _json(error), "max_attempts": max_attempts,
            "backoff_base": interval(backoff_base), "backoff_max": interval(backoff_max),
            "started_at": started_at,
        },
        {"workflow_id": "::text", "lease": "::bigint", "step_id": "::integer", "name": "::text",
         "error": "::jsonb", "max_attempts": "::integer", "backoff_base": "::interval",
         "backoff_max": "::interval", "started_at": "::timestamptz"},
    )
    return StepFailure(**_rows(conn, sql, params)[0])


def complete(conn: psycopg.Connection, workflow_id: str, lease: int, output: Any = None) -> str:
    """durable.complete: finish the workflow successfully; returns 'succeeded'."""
    rows = _rows(conn, "select status from durable.complete(%s::text, %s::bigint, %s::jsonb) as r(status)",
                 [workflow_id, lease, _json(output)])
    return rows[0]["status"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class HeldStep:
    """A step that ran and whose checkpoint the worker holds back until the next statement of
    the run: output_json is its output, already as JSON text."""

    step_id: int
    name: str
    output_json: str
    started_at: datetime | None


def raw_json(text: str) -> Jsonb:
    """JSON text sent as it is (already dumped) with the type jsonb."""
    return Jsonb(text, dumps=_as_is)


def _as_is(text: str) -> str:
    return text


_COMPLETE_AND_CLAIM = (
    "select completed, workflow_id, name, queue, input, lease, attempt, max_attempts, steps,"
    " trace_context from durable.complete_and_claim(%s::text, %s::bigint, %s::jsonb, %s::text, %s::text[],"
    " %s::integer, %s::interval, %s::integer, %s::text, %s::jsonb, %s::timestamptz)"
)


def complete_and_claim(
    conn: psycopg.Connection,
    workflow_id: str,
    lease: int,
    output: Any,
    worker: str | None = None,
    queues: Sequence[str] = ("default",),
    max: int = 0,
    lease_timeout: Seconds | None = None,
    step: HeldStep | None = None,
) -> tuple[str, list[Claimed]]:
    """durable.complete_and_claim: record the held-back last step (if any), finish the workflow
    successfully and claim up to max workflows for worker, in one statement; returns
    ('succeeded', the workflows claimed)."""
    rows = _hot(conn, _COMPLETE_AND_CLAIM, [
        workflow_id, lease, _json(output), worker, _text_array(tuple(queues)), max,
        interval(lease_timeout),
        None if step is None else step.step_id, None if step is None else step.name,
        None if step is None else raw_json(step.output_json),
        None if step is None else step.started_at,
    ])
    return rows[0][0], [Claimed(*r[1:]) for r in rows if r[1] is not None]


# -- pipelined calls: sent at once, answered at the run's next statement ---------------------------
#
# A step's checkpoint is sent when the step returns, without waiting for its answer, and the
# answer is read by the run's next statement: a crash of the worker after the step returned no
# longer loses its outcome, and the run waits no more often than when the checkpoint was held
# back. Each statement goes with its own Sync: it commits on its own, whatever comes after it.
# The statements are prepared once per connection, in the same round trip as their first use.

_PIPELINED_SQL = {
    b"durable_checkpoint": (
        b"select recorded, output, error from durable.checkpoint($1::text, $2::bigint,"
        b" $3::integer, $4::text, $5::jsonb, $6::jsonb, $7::timestamptz)"),
    b"durable_complete_and_claim": (
        b"select completed, workflow_id, name, queue, input, lease, attempt, max_attempts, steps,"
        b" trace_context"
        b" from durable.complete_and_claim($1::text, $2::bigint, $3::jsonb, $4::text, $5::text[],"
        b" $6::integer, $7::interval, $8::integer, $9::text, $10::jsonb, $11::timestamptz)"),
}
_OK = pq.ConnStatus.OK
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_FATAL_ERROR = pq.ExecStatus.FATAL_ERROR
_PIPELINE_SYNC = pq.ExecStatus.PIPELINE_SYNC


class _Pipe:
    """A connection's pipelined statements: those prepared on it, and those sent whose answers
    are not read yet (their names, in order)."""

    __slots__ = ("prepared", "sent", "transformer")

    def __init__(self) -> None:
        self.prepared: set[bytes] = set()
        self.sent: list[bytes] = []
        self.transformer: Transformer | None = None  # type: ignore[valid-type]


def _pipe(conn: psycopg.Connection) -> _Pipe:
    pipe = getattr(conn, "_durable_pipe", None)
    if pipe is None:
        pipe = conn._durable_pipe = _Pipe()  # type: ignore[attr-defined]
    return pipe


def pending(conn: psycopg.Connection) -> int:
    """How many statements were sent on conn in pipeline mode and not answered yet."""
    pipe = getattr(conn, "_durable_pipe", None)
    return len(pipe.sent) if pipe is not None else 0


def _param(value: Any) -> bytes | None:
    """A parameter in text format (the SQL casts it): None, text, a number, an interval, a
    timestamp."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return f"{value // timedelta(microseconds=1)} microseconds".encode()
    if isinstance(value, datetime):
        return value.isoformat().encode()
    try:
        return str(value).encode()
    except UnicodeEncodeError as exc:  # a str holding a surrogate
        raise InvalidValue(f"value refused: {exc}", hint=VALUE_HINT) from exc


def _send(conn: psycopg.Connection, name: bytes, params: Sequence[Any]) -> None:
    """Send the pipelined statement name with params and a Sync, flushed to the server, without
    reading anything."""
    values = [_param(v) for v in params]
    pipe = _pipe(conn)
    pgconn = conn.pgconn
    with conn.lock:
        try:
            if not pipe.sent:
                pgconn.enter_pipeline_mode()
            if no_prepare(conn):  # through a transaction pooler: an unnamed statement
                pgconn.send_query_params(_PIPELINED_SQL[name], values)
            else:
                if name not in pipe.prepared:
                    pgconn.send_prepare(name, _PIPELINED_SQL[name])
                    pipe.prepared.add(name)
                pgconn.send_query_prepared(name, values)
            pgconn.pipeline_sync()
            pipe.sent.append(name)
            while pgconn.flush():  # the socket's buffer is full: wait until it takes the rest
                _wait(pgconn.socket, write=True)
        except psycopg.OperationalError:
            _give_up(conn, pipe)
            raise


def send_checkpoint(conn: psycopg.Connection, workflow_id: str, lease: int,
                    step: HeldStep) -> None:
    """durable.checkpoint of step, sent now with its own Sync (it commits whatever the client does
    next); receive() reads its answer, a StepOutcome."""
    _send(conn, b"durable_checkpoint", [workflow_id, lease, step.step_id, step.name,
                                        step.output_json, None, step.started_at])


def send_complete_and_claim(
    conn: psycopg.Connection,
    workflow_id: str,
    lease: int,
    output_json: str,
    worker: str | None,
    queues: Sequence[str],
    max: int,
    lease_timeout: Seconds | None,
    step: HeldStep | None,
) -> None:
    """durable.complete_and_claim (see complete_and_claim), sent now, after any statement still
    unanswered on conn; receive() reads its answer, ('succeeded', the workflows claimed)."""
    _send(conn, b"durable_complete_and_claim", [
        workflow_id, lease, output_json, worker, _text_array(tuple(queues)), max,
        interval(lease_timeout),
        None if step is None else step.step_id, None if step is None else step.name,
        None if step is None else step.output_json, None if step is None else step.started_at,
    ])


def receive(conn: psycopg.Connection) -> list[Any]:
    """The answers to the statements sent on conn and not answered yet, in order: a StepOutcome
    (checkpoint) or ('succeeded', [Claimed, ...]) (complete_and_claim), or, for a statement the
    server refused, the exception it raised (a DurableError, InvalidValue or psycopg.Error, not
    raised; a LockNotAvailable or InvalidSqlStatementName is to be sent again, not through the
    pipeline). Raises psycopg.OperationalError when the connection is lost: then the answers not
    read are unknown (those statements may or may not have committed)."""
    pipe = _pipe(conn)
    pgconn = conn.pgconn
    answers: list[Any] = []
    began = time.perf_counter()
    with conn.lock:
        while pipe.sent:
            try:
                rows, error = _read_answer(conn, pipe)
            except psycopg.OperationalError:
                _give_up(conn, pipe)
                raise
            name = pipe.sent.pop(0)
            if isinstance(error, psycopg.errors.InvalidSqlStatementName):
                pipe.prepared.discard(name)  # a DISCARD ALL in a step: prepared again next time
            if error is not None:
                answers.append(translate(error))
            elif rows is None:
                answers.append(psycopg.InterfaceError(f"no rows came back for {name.decode()}"))
            elif name == b"durable_checkpoint":
                answers.append(StepOutcome(*rows[0]))
            else:
                answers.append((rows[0][0], [Claimed(*r[1:]) for r in rows if r[1] is not None]))
        pgconn.exit_pipeline_mode()
    _observe(conn, time.perf_counter() - began)
    return answers


def _read_answer(conn: psycopg.Connection, pipe: _Pipe) -> tuple[list[tuple[Any, ...]] | None,
                                                                  psycopg.Error | None]:
    """The rows or the error of the next statement of the pipeline, up to its Sync."""
    pgconn = conn.pgconn
    rows: list[tuple[Any, ...]] | None = None
    error: psycopg.Error | None = None
    while True:
        result = _next_result(pgconn)
        if result is None:
            continue
        status = result.status
        if status == _PIPELINE_SYNC:
            return rows, error
        if status == _TUPLES_OK:
            if pipe.transformer is None:
                pipe.transformer = Transformer(conn)
            pipe.transformer.set_pgresult(result)
            rows = pipe.transformer.load_rows(0, result.ntuples, tuple)
        elif status == _FATAL_ERROR and error is None:
            error = psycopg.errors.error_from_result(result, conn.info.encoding)
            if pgconn.status != _OK or _fatal(error):
                # the server ended the session: nothing more comes
                if isinstance(error, psycopg.OperationalError):
                    raise error
                raise psycopg.OperationalError(str(error)) from error


def _give_up(conn: psycopg.Connection, pipe: _Pipe) -> None:
    """The connection failed in the middle of a pipeline: it cannot be used again."""
    pipe.sent.clear()
    conn.close()


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """The next result of the pipeline, waiting for it; OperationalError when the connection
    is lost."""
    while pgconn.is_busy():
        _wait(pgconn.socket, write=False)
        pgconn.consume_input()  # raises OperationalError at the end of the connection
    result = pgconn.get_result()
    if result is None and pgconn.status != _OK:
        raise psycopg.OperationalError("the connection to the server was lost")
    return result


def _fatal(error: psycopg.Error) -> bool:
    """Whether error ends the session (its class: 57P operator intervention, 08 connection)."""
    return (error.sqlstate or "").startswith(("57P", "08"))


def _wait(fd: int, *, write: bool, timeout: float | None = None) -> bool:
    """Wait until fd is readable (or writable, with write); False when timeout passed first."""
    ms = None if timeout is None else int(timeout * 1000)
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | (select.POLLOUT if write else 0))
        return bool(poller.poll(ms))
    ready = select.select([fd], [fd] if write else [], [], timeout)
    return bool(ready[0] or ready[1])


def alive(conn: psycopg.Connection) -> bool:
    """False when conn is closed or broken, or when its idle socket has something to read: with
    nothing asked, what a server sends is its goodbye (pg_terminate_backend, a shutdown, a
    session timeout) and the end of the connection. One poll(2) with no wait when all is well;
    True while statements sent in pipeline mode await their answers (receive() tells)."""
    if conn.closed or conn.broken:
        return False
    if pending(conn):
        return True
    pgconn = conn.pgconn
    try:
        for _ in range(3):
            if not _wait(pgconn.socket, write=False, timeout=0):
                return pgconn.status == _OK
            pgconn.consume_input()  # raises OperationalError at the end of the connection
            pgconn.is_busy()  # parses what came (a goodbye arrives as a notice)
            if pgconn.status != _OK:
                return False
    except psycopg.OperationalError:
        return False
    return False  # still more to read with nothing asked: not a connection to use


def lost(conn: psycopg.Connection, exc: BaseException) -> bool:
    """Whether exc, raised by a call on conn, means the connection is gone: the call's answer is
    unknown (it may or may not have committed) and the connection cannot be used again."""
    if conn.closed or conn.broken:
        return True
    return isinstance(exc, psycopg.Error) and _fatal(exc)


def fail(
    conn: psycopg.Connection, workflow_id: str, lease: int, error: Any, retryable: bool = True
) -> tuple[str, datetime | None]:
    """durable.fail: end the attempt with error; returns (status, run_at of the retry)."""
    rows = _rows(conn, "select status, run_at from durable.fail(%s::text, %s::bigint, %s::jsonb,"
                       " %s::boolean)", [workflow_id, lease, _json(error), retryable])
    return rows[0]["status"], rows[0]["run_at"]


def heartbeat(
    conn: psycopg.Connection, worker: str, lease_timeout: Seconds | None = None,
    busy: int | None = None, connections: int | None = None,
    concurrency_limit: int | None = None,
) -> dict[str, int]:
    """durable.heartbeat: keep worker's leases alive, and say how many runs its slots execute
    (busy), how many server connections it holds (connections) and its adaptive limit
    (concurrency_limit), all shown by durable.worker_status (None: keep the last report);
    returns {workflow_id: lease} it holds. DU011 for a negative count."""
    rows = _rows(conn, "select workflow_id, lease from durable.heartbeat(%s::text, %s::interval,"
                       " %s::integer, %s::integer, %s::integer)",
                 [worker, interval(lease_timeout), busy, connections, concurrency_limit])
    return {r["workflow_id"]: r["lease"] for r in rows}


def release(conn: psycopg.Connection, worker: str, workflow_ids: Sequence[str] | None = None) -> int:
    """durable.release: hand workflows back (all of them, and forget the worker, when None)."""
    rows = _rows(conn, "select released from durable.release(%s::text, %s::text[]) as r(released)",
                 [worker, None if workflow_ids is None else list(workflow_ids)])
    return rows[0]["released"]  # type: ignore[no-any-return]


# -- control -------------------------------------------------------------------------------------


def cancel(conn: psycopg.Connection, workflow_id: str) -> str:
    """durable.cancel: cancel a pending, running or waiting workflow."""
    return _rows(conn, "select status from durable.cancel(%s::text) as r(status)", [workflow_id])[0]["status"]  # type: ignore[no-any-return]


def retry(conn: psycopg.Connection, workflow_id: str) -> str:
    """durable.retry: run a failed or cancelled workflow again."""
    return _rows(conn, "select status from durable.retry(%s::text) as r(status)", [workflow_id])[0]["status"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Result:
    """durable.result: a workflow's status and, once finished, its output or error."""

    status: str
    output: Any
    error: Any
    attempt: int
    created_at: datetime
    finished_at: datetime | None


def result(conn: psycopg.Connection, workflow_id: str) -> Result:
    """durable.result for one workflow."""
    rows = _rows(conn, "select status, output, error, attempt, created_at, finished_at"
                       " from durable.result(%s::text)", [workflow_id])
    return Result(**rows[0])


def set_queue(
    conn: psycopg.Connection, name: str, concurrency: int | None = None,
    paused: bool | None = None, rate_limit: int | None = None,
    rate_period: Seconds | None = None, key_concurrency: int | None = None,
) -> None:
    """durable.set_queue: create a queue or change only the settings given (None keeps one)."""
    _rows(conn, "select * from durable.set_queue(%s::text, %s::integer, %s::boolean,"
                " %s::integer, %s::interval, %s::integer)",
          [name, concurrency, paused, rate_limit, interval(rate_period), key_concurrency])


def fork(conn: psycopg.Connection, workflow_id: str, step: int, new_id: str | None = None,
         version: str | None = None) -> str:
    """durable.fork: a new run of workflow_id with its steps before position step replayed;
    returns the new id."""
    return _rows(conn, "select durable.fork(%s::text, %s::integer, %s::text, %s::text) as id",  # type: ignore[no-any-return]
                 [workflow_id, step, new_id, version])[0]["id"]


# -- views ---------------------------------------------------------------------------------------


def runs(
    conn: psycopg.Connection,
    *,
    status: str | None = None,
    queue: str | None = None,
    name: str | None = None,
    since: datetime | timedelta | None = None,
    workflow_id: str | None = None,
    parent_id: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Rows of the view durable.runs, newest first, filtered (parent_id: the children of that
    workflow)."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("status", status), ("queue", queue), ("name", name),
                          ("id", workflow_id), ("parent_id", parent_id)):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if isinstance(since, timedelta):
        where.append("created_at >= now() - %s::interval")
        params.append(since)
    elif since is not None:
        where.append("created_at >= %s::timestamptz")
        params.append(since)
    sql = ("select id, name, queue, status, priority, attempt, max_attempts, run_at, owner,"
           " claims, input, output, error, created_at, claimed_at, finished_at, duration,"
           " started_at, version, lost_leases, parent_id, deadline, waiting_for, waiting_since,"
           " concurrency_key, forked_from, forked_at from durable.runs")
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by created_at desc, id limit %s"
    params.append(limit)
    return _rows(conn, sql, params)


def timeline(conn: psycopg.Connection, workflow_id: str) -> list[dict[str, Any]]:
    """The view durable.timeline for one workflow, in order."""
    return _rows(conn, "select at, kind, step_id, name, attempt, duration, detail, is_error"
                       " from durable.timeline where workflow_id = %s"
                       " order by at, step_id nulls last, kind", [workflow_id])


def run_errors(conn: psycopg.Connection, *, since: timedelta | None = None,
               steps_only: bool = True, limit: int = 100) -> list[dict[str, Any]]:
    """Rows of the view durable.run_errors, newest first."""
    where: list[str] = []
    params: list[Any] = []
    if steps_only:
        where.append("step_id is not null")
    if since is not None:
        where.append("created_at > now() - %s::interval")
        params.append(since)
    sql = ("select id, workflow_id, workflow_name, queue, step_id, step_name, attempt, error,"
           " created_at from durable.run_errors")
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by created_at desc, id desc limit %s"
    params.append(limit)
    return _rows(conn, sql, params)


def queue_stats(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Rows of the view durable.queue_stats."""
    return _rows(conn, "select queue, concurrency, paused, pending, running, waiting,"
                       " oldest_pending, scheduled, next_scheduled, rate_limit, rate_period,"
                       " next_start_at, key_concurrency from durable.queue_stats"
                       " order by queue")


def worker_status(conn: psycopg.Connection, worker: str | None = None) -> list[dict[str, Any]]:
    """Rows of the view durable.worker_status (one worker's when worker is given)."""
    sql = ("select id, started_at, heartbeat_at, lease_timeout, expires_at, alive, running,"
           " busy, connections, concurrency_limit from durable.worker_status")
    if worker is not None:
        return _rows(conn, sql + " where id = %s", [worker])
    return _rows(conn, sql + " order by id")


# -- waiting (durable sleep, messages, events, child workflows) -----------------------------------
#
# The worker's waits answer (parked, output): parked = True means the run is now waiting with
# its lease released (stop executing it; it is claimed again when the wait can end); parked =
# False that output is recorded as the step. The steps that never park answer their recorded
# output. Each is one statement.

_WAIT_CASTS = {
    "workflow_id": "::text", "lease": "::bigint", "step_id": "::integer", "name": "::text",
    "duration": "::interval", "until": "::timestamptz", "topic": "::text",
    "timeout": "::interval", "target": "::text", "key": "::text", "children": "::text[]",
    "destination": "::text", "message": "::jsonb", "value": "::jsonb", "input": "::jsonb",
    "child_id": "::text", "queue": "::text", "priority": "::integer", "detached": "::boolean",
    "step_name": "::text", "trace_context": "::text",
}


def _run_call(conn: psycopg.Connection, function: str, args: dict[str, Any]) -> list[tuple[Any, ...]]:
    sql, params = _named_call(function, args, _WAIT_CASTS)
    with conn.cursor() as cur:
        return _fetch(cur, sql, params)


def _wait_call(conn: psycopg.Connection, function: str, args: dict[str, Any]
               ) -> tuple[bool, Any]:
    parked, output = _run_call(conn, function, args)[0]
    return parked, output


def jsonb_arg(value: Any, what: str) -> Jsonb:
    """value as a jsonb argument (kept when it already is one); InvalidValue naming what when it
    is not storable JSON."""
    return value if isinstance(value, Jsonb) else raw_json(json_text(value, what))


def aware(when: datetime, what: str) -> datetime:
    """when, an aware datetime; InvalidValue for a naive one (Postgres would read it in the
    session's time zone)."""
    if when.utcoffset() is None:
        raise InvalidValue(f"{what} {when.isoformat()} has no time zone: pass an aware datetime, "
                           "e.g. datetime.now(timezone.utc) + timedelta(hours=1)")
    return when


def sleep(conn: psycopg.Connection, workflow_id: str, lease: int, step_id: int, *,
          duration: Seconds | None = None, until: datetime | None = None,
          name: str = "durable.sleep") -> tuple[bool, Any]:
    """durable.sleep: step step_id sleeps for duration (seconds) or until an aware datetime
    (exactly one); (parked, {"slept_until": "<time>"} once the time has passed)."""
    return _wait_call(conn, "sleep", {
        "workflow_id": workflow_id, "lease": lease, "step_id": step_id,
        "duration": interval(duration),
        "until": None if until is None else aware(until, "until"), "name": name})


def recv(conn: psycopg.Connection, workflow_id: str, lease: int, step_id: int,
         topic: str = "default", timeout: Seconds | None = None,
         name: str = "durable.recv") -> tuple[bool, Any]:
    """durable.recv: step step_id takes the oldest unconsumed message of topic; (parked,
    {"message": ..., "message_id": n} or {"timed_out": true})."""
    return _wait_call(conn, "recv", {
        "workflow_id": workflow_id, "lease": lease, "step_id": step_id, "topic": topic,
        "timeout": interval(timeout), "name": name})


def await_event(conn: psycopg.Connection, workflow_id: str, lease: int, step_id: int,
                target: str, key: str, timeout: Seconds | None = None,
                name: str = "durable.get_event") -> tuple[bool, Any]:
    """durable.await_event: step step_id waits for event key of workflow target; (parked,
    {"value": ..., "event_id": n} or {"timed_out": true})."""
    return _wait_call(conn, "await_event", {
        "workflow_id": workflow_id, "lease": lease, "step_id": step_id, "target": target,
        "key": key, "timeout": interval(timeout), "name": name})


def await_children(conn: psycopg.Connection, workflow_id: str, lease: int, step_id: int,
                   children: Sequence[str], timeout: Seconds | None = None,
                   name: str = "durable.await_children") -> tuple[bool, Any]:
    """durable.await_children: step step_id waits until every listed child has finished;
    (parked, {"children": [{"workflow_id", "status", "output", "error"}, ...]}, with
    "timed_out": true when the timeout passed first)."""
    return _wait_call(conn, "await_children", {
        "workflow_id": workflow_id, "lease": lease, "step_id": step_id,
        "children": list(children), "timeout": interval(timeout), "name": name})


def send_step(conn: psycopg.Connection, workflow_id: str, lease: int, step_id: int,
              destination: str, message: Any, topic: str = "default",
              name: str = "durable.send") -> Any:
    """durable.send_step: send message to destination as step step_id (once, whatever the
    replays); the recorded {"message_id": n}."""
    return _run_call(conn, "send_step", {
        "workflow_id": workflow_id, "lease": lease, "step_id": step_id,
        "destination": destination, "message": jsonb_arg(message, "the message"),
        "topic": topic, "name": name})[0][0]


def set_event(conn: psycopg.Connection, workflow_id: str, lease: int, step_id: int, key: str,
              value: Any, name: str = "durable.set_event") -> Any:
    """durable.set_event: publish event key = value as step step_id; the recorded
    {"event_id": n}."""
    return _run_call(conn, "set_event", {
        "workflow_id": workflow_id, "lease": lease, "step_id": step_id, "key": key,
        "value": jsonb_arg(value, "the event's value"), "name": name})[0][0]


def start_child(conn: psycopg.Connection, workflow_id: str, lease: int, step_id: int,
                name: str, input: Any = None, *, child_id: str | None = None,
                queue: str | None = None, priority: int | None = None,
                timeout: Seconds | None = None, detached: bool = False,
                step_name: str = "durable.start_child", trace_context: str | None = None) -> Any:
    """durable.start_child: start child workflow name as step step_id; the recorded
    {"workflow_id": <child id>}. trace_context: the W3C traceparent of the span starting it
    (None: the child takes the parent's)."""
    return _run_call(conn, "start_child", {
        "workflow_id": workflow_id, "lease": lease, "step_id": step_id, "name": name,
        "input": jsonb_arg(input, "the child workflow's input"),
        "child_id": child_id, "queue": queue, "priority": priority,
        "timeout": interval(timeout), "detached": detached, "step_name": step_name,
        "trace_context": trace_context})[0][0]


def start_children(conn: psycopg.Connection, workflow_id: str, lease: int, step_id: int,
                   children: list[dict[str, Any]] | Jsonb,
                   step_name: str = "durable.start_children",
                   trace_context: str | None = None) -> Any:
    """durable.start_children: start the children [{"name", "input", "workflow_id", "queue",
    "priority", "timeout", "detached"}] as step step_id, in one call; the recorded
    {"workflow_ids": [...]} in the order given. trace_context: as start_child's."""
    sql = ("select durable.start_children(%s::text, %s::bigint, %s::integer, %s::jsonb, "
           "%s::text, %s::text)")
    with conn.cursor() as cur:
        return _fetch(cur, sql, [workflow_id, lease, step_id,
                                 jsonb_arg(children, "the child workflows"), step_name,
                                 trace_context])[0][0]


def send(conn: psycopg.Connection, destination: str, message: Any, topic: str = "default",
         idempotency_key: str | None = None) -> int:
    """durable.send: a message to workflow destination; its message id (the first one's for an
    idempotency key already used with that destination)."""
    rows = _rows(conn, "select durable.send(%s::text, %s::jsonb, %s::text, %s::text) as id",
                 [destination, jsonb_arg(message, "the message"), topic,
                  idempotency_key])
    return rows[0]["id"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class EventValue:
    """durable.get_event: whether the event was ever set, its latest value and when."""

    found: bool
    value: Any
    set_at: datetime | None


def get_event(conn: psycopg.Connection, workflow_id: str, key: str) -> EventValue:
    """durable.get_event: the latest value of event key of workflow_id (does not wait)."""
    rows = _rows(conn, "select found, value, set_at from durable.get_event(%s::text, %s::text)",
                 [workflow_id, key])
    return EventValue(**rows[0])


def watch(conn: psycopg.Connection, workflow_id: str) -> Result:
    """durable.watch: durable.result, and a NOTIFY durable_finished with the id when the
    workflow finishes later (LISTEN on conn first)."""
    rows = _rows(conn, "select status, output, error, attempt, created_at, finished_at"
                       " from durable.watch(%s::text)", [workflow_id])
    return Result(**rows[0])


FINISHED_CHANNEL = "durable_finished"
EVENT_CHANNEL = "durable_event"


def listen(conn: psycopg.Connection, channel: str) -> None:
    """LISTEN channel on conn (an autocommit connection)."""
    conn.execute(f"listen {channel}")


def unlisten(conn: psycopg.Connection) -> None:
    """UNLISTEN * on conn: a connection kept idle must not listen (the server's notification
    queue waits for every listener to read)."""
    conn.execute("unlisten *")
