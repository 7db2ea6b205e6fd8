"""Listing and searching runs: typed records over durable.list_runs and the observability views.

    app.list_runs(status="failed", queue="orders", created_after=timedelta(days=1))
    app.list_runs(input=[{"customer": "c-42"}])          # input @> pattern (jsonb containment)
    page2 = app.list_runs(status="failed", before=page1[-1])   # keyset paging, no OFFSET
    for run in app.iter_runs(name="order"): ...           # every page, newest first
    app.list_errors(since=timedelta(hours=1))              # recent errors across runs
    handle = app.handle("order-1001")
    handle.info(), handle.steps(), handle.errors()

The filters are the SQL's (durable.list_runs, durable.list_runs_meta: deploy/listing.sql), so
psql and other languages get the same answers; steps and errors are reads of the views
durable.run_steps and durable.run_errors (or their *_meta forms). With payloads=False the
records come from the payload-free forms, which the observer role may read: input, output and
error are then None and error_type is kept.

Refusals arrive as the SQL's exceptions, at the call: BadArgument (DU011: a status name that is
not one, limit outside 1..1000, an empty time range), MissingArgument (DU010), UnknownQueue
(DU004), UnknownWorkflow (DU003: a page cursor or handle naming no run); InvalidValue for a
naive datetime (Postgres would read it in the session's time zone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import psycopg

from . import db
from .errors import BadArgument, UnknownWorkflow

if TYPE_CHECKING:
    from .app import Durable

# a moment: an aware datetime, or a timedelta meaning that long before now (the client's clock)
When = datetime | timedelta


@dataclass(frozen=True)
class RunInfo:
    """One workflow run, as the view durable.runs shows it (durable.runs_meta when listed with
    payloads=False: input, output and error are then None).

    Times are aware datetimes; duration is finished_at - started_at (a timedelta, None while
    unfinished); run_at is when a pending run may start or a waiting one wakes (None: waiting
    without a deadline); waiting_for says what a waiting run waits for; error_type is the
    recorded error's "type"; input, output and error are the stored JSON."""

    id: str
    name: str
    queue: str
    status: str
    priority: int
    attempt: int
    max_attempts: int
    run_at: datetime | None
    owner: str | None
    claims: int
    created_at: datetime
    claimed_at: datetime | None
    finished_at: datetime | None
    duration: timedelta | None
    started_at: datetime | None
    version: str | None
    lost_leases: int
    parent_id: str | None
    deadline: datetime | None
    waiting_for: str | None
    waiting_since: datetime | None
    concurrency_key: str | None
    forked_from: str | None
    forked_at: int | None
    error_type: str | None = None
    input: Any = None
    output: Any = None
    error: Any = None

    @property
    def cursor(self) -> tuple[str, datetime]:
        """(id, created_at): where the next page starts (list_runs(before=...))."""
        return self.id, self.created_at


@dataclass(frozen=True)
class StepRecord:
    """One recorded step of a run (the view durable.run_steps; run_steps_meta without
    payloads: output and error None). step_id is its position from 0; is_error says it was
    recorded as a failure (error_type: its error's "type"); duration is recorded_at -
    started_at when the worker gave the step's start time."""

    workflow_id: str
    step_id: int
    name: str
    attempt: int
    started_at: datetime | None
    recorded_at: datetime
    duration: timedelta | None
    is_error: bool
    error_type: str | None
    output: Any = None
    error: Any = None


@dataclass(frozen=True)
class ErrorRecord:
    """One error (the view durable.run_errors; run_errors_meta without the error itself): a
    failed step try (step_id and step_name set) or a failed workflow attempt (both None)."""

    id: int
    workflow_id: str
    workflow_name: str
    queue: str
    step_id: int | None
    step_name: str | None
    attempt: int
    error_type: str | None
    created_at: datetime
    error: Any = None


_RUN_COLUMNS = [f.name for f in fields(RunInfo) if f.name not in ("error_type", "input",
                                                                    "output", "error")]
_MAX_LIMIT = 1000


def _moment(value: When | None, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return datetime.now(timezone.utc) - value
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime or a timedelta, not {type(value).__name__}")
    return db.aware(value, what)


def _error_type(error: Any) -> str | None:
    return error.get("type") if isinstance(error, dict) else None


def _statuses(status: str | Sequence[str] | None) -> list[str] | None:
    if status is None:
        return None
    return [status] if isinstance(status, str) else list(status)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
        raise BadArgument(f"limit must be an integer between 1 and {_MAX_LIMIT}, got {limit!r}",
                          sqlstate="DU011")


def list_runs(
    conn: psycopg.Connection,
    *,
    status: str | Sequence[str] | None = None,
    queue: str | None = None,
    name: str | None = None,
    created_after: When | None = None,
    created_before: When | None = None,
    finished_after: When | None = None,
    finished_before: When | None = None,
    input: Any = None,
    parent_id: str | None = None,
    before: RunInfo | tuple[str, datetime] | str | None = None,
    limit: int = 50,
    payloads: bool = True,
) -> list[RunInfo]:
    """Runs matching every filter given, newest first (created_at, then id, descending), at
    most limit (1..1000): one call of durable.list_runs (durable.list_runs_meta when payloads
    is False).

    status: one status or several; created_* and finished_* bound [after, before) (an aware
    datetime, or a timedelta: that long ago); input: a JSON pattern the stored input must
    contain (jsonb @>; an input is the argument list, so [{"customer": "c-42"}] matches runs
    whose first argument has that key; {"$kwargs": {...}} keyword arguments), refused with
    payloads=False (TypeError); parent_id: the children of that run. before: the last run of the
    page before (a RunInfo, its (id, created_at), or its id): the page after it, unshifted by
    runs enqueued meanwhile. Raises BadArgument, MissingArgument, UnknownQueue, UnknownWorkflow
    (see the module's doc), InvalidValue (a naive datetime, an input pattern that is not
    JSON)."""
    if input is not None and not payloads:
        raise TypeError("input: not a filter of list_runs(payloads=False) (durable.list_runs_meta"
                        " takes none: it would reveal inputs)")
    before_id: str | None
    before_at: datetime | None
    if isinstance(before, RunInfo):
        before_id, before_at = before.cursor
    elif isinstance(before, tuple):
        before_id, before_at = before
    else:
        before_id, before_at = before, None
    params: dict[str, Any] = {
        "status": _statuses(status), "queue": queue, "name": name,
        "created_after": _moment(created_after, "created_after"),
        "created_before": _moment(created_before, "created_before"),
        "finished_after": _moment(finished_after, "finished_after"),
        "finished_before": _moment(finished_before, "finished_before"),
        "parent_id": parent_id, "before_id": before_id,
        "before_created_at": None if before_at is None else db.aware(before_at, "before"),
        "limit": limit,
    }
    casts = {"status": "text[]", "queue": "text", "name": "text",
             "created_after": "timestamptz", "created_before": "timestamptz",
             "finished_after": "timestamptz", "finished_before": "timestamptz",
             "parent_id": "text", "before_id": "text", "before_created_at": "timestamptz",
             "limit": "integer"}
    if payloads:
        params["input"] = None if input is None else db.jsonb_arg(input, "the input pattern")
        casts["input"] = "jsonb"
    args = ", ".join(f"p_{key} => %({key})s::{cast}" for key, cast in casts.items())
    columns = ", ".join(_RUN_COLUMNS + (["input", "output", "error"] if payloads
                                        else ["error_type"]))
    function = "durable.list_runs" if payloads else "durable.list_runs_meta"
    rows = db._rows(conn, f"select {columns} from {function}({args})", params)
    return [_run(row, payloads) for row in rows]


def _run(row: dict[str, Any], payloads: bool) -> RunInfo:
    if payloads:
        row["error_type"] = _error_type(row["error"])
    return RunInfo(**row)


def iter_runs(call: Callable[..., list[RunInfo]], *, page_size: int = 100,
              **filters: Any) -> Iterator[RunInfo]:
    """Every run matching filters (those of list_runs), newest first, fetched page_size at a
    time (keyset pages: each page one call of call(list_runs, ...), e.g. app._call)."""
    _check_limit(page_size)
    before = filters.pop("before", None)
    while True:
        page = call(list_runs, before=before, limit=page_size, **filters)
        yield from page
        if len(page) < page_size:
            return
        before = page[-1]


def info(conn: psycopg.Connection, workflow_id: str, *, payloads: bool = True) -> RunInfo:
    """The run workflow_id, as the view durable.runs (durable.runs_meta) shows it; raises
    UnknownWorkflow (DU003) when there is none."""
    columns = ", ".join(_RUN_COLUMNS + (["input", "output", "error"] if payloads
                                        else ["error_type"]))
    view = "durable.runs" if payloads else "durable.runs_meta"
    rows = db._rows(conn, f"select {columns} from {view} where id = %s", [workflow_id])
    if not rows:
        raise UnknownWorkflow(f"unknown workflow {workflow_id}", sqlstate="DU003")
    return _run(rows[0], payloads)


def steps(conn: psycopg.Connection, workflow_id: str, *,
          payloads: bool = True) -> list[StepRecord]:
    """The recorded steps of a run, by position (the view durable.run_steps, or run_steps_meta
    when payloads is False); [] for a run with none or an unknown id."""
    if payloads:
        sql = ("select workflow_id, step_id, name, attempt, started_at, recorded_at, duration,"
               " error is not null as is_error, error ->> 'type' as error_type, output, error"
               " from durable.run_steps where workflow_id = %s order by step_id")
    else:
        sql = ("select workflow_id, step_id, name, attempt, started_at, recorded_at, duration,"
               " is_error, error_type from durable.run_steps_meta where workflow_id = %s"
               " order by step_id")
    return [StepRecord(**row) for row in db._rows(conn, sql, [workflow_id])]


def list_errors(
    conn: psycopg.Connection,
    *,
    workflow_id: str | None = None,
    since: When | None = None,
    steps_only: bool = False,
    before: ErrorRecord | None = None,
    limit: int = 100,
    payloads: bool = True,
) -> list[ErrorRecord]:
    """Errors, newest first (created_at, then id, descending), at most limit (1..1000, else
    BadArgument): failed step tries and failed attempts (steps_only: step tries only), of one
    run (workflow_id) or of every run, since a moment (an aware datetime or a timedelta ago);
    before: the last error of the page before. From the view durable.run_errors, or
    run_errors_meta when payloads is False (error None, error_type kept)."""
    _check_limit(limit)
    where: list[str] = []
    params: list[Any] = []
    if workflow_id is not None:
        where.append("workflow_id = %s")
        params.append(workflow_id)
    if steps_only:
        where.append("step_id is not null")
    moment = _moment(since, "since")
    if moment is not None:
        where.append("created_at >= %s")
        params.append(moment)
    if before is not None:
        where.append("(created_at, id) < (%s, %s)")
        params += [before.created_at, before.id]
    if payloads:
        sql = ("select id, workflow_id, workflow_name, queue, step_id, step_name, attempt,"
               " error ->> 'type' as error_type, created_at, error from durable.run_errors")
    else:
        sql = ("select id, workflow_id, workflow_name, queue, step_id, step_name, attempt,"
               " error_type, created_at from durable.run_errors_meta")
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by created_at desc, id desc limit %s"
    params.append(limit)
    return [ErrorRecord(**row) for row in db._rows(conn, sql, params)]


class RunQueries:
    """The listing methods of Durable (mixed in): each one call on the app's connection."""

    if TYPE_CHECKING:
        def _call(self, fn: Callable[..., Any], *args: Any,
                  conn: psycopg.Connection | None = None, **kwargs: Any) -> Any: ...

    def list_runs(
        self,
        *,
        status: str | Sequence[str] | None = None,
        queue: str | None = None,
        name: str | None = None,
        created_after: When | None = None,
        created_before: When | None = None,
        finished_after: When | None = None,
        finished_before: When | None = None,
        input: Any = None,
        parent_id: str | None = None,
        before: RunInfo | tuple[str, datetime] | str | None = None,
        limit: int = 50,
        payloads: bool = True,
        conn: psycopg.Connection | None = None,
    ) -> list[RunInfo]:
        """Runs matching every filter given, newest first, one page of at most limit
        (1..1000): durable.runs.list_runs (its doc lists the filters and errors)."""
        found: list[RunInfo] = self._call(
            list_runs, conn=conn, status=status, queue=queue, name=name,
            created_after=created_after, created_before=created_before,
            finished_after=finished_after, finished_before=finished_before, input=input,
            parent_id=parent_id, before=before, limit=limit, payloads=payloads)
        return found

    def iter_runs(self, *, page_size: int = 100, **filters: Any) -> Iterator[RunInfo]:
        """Every run matching filters (list_runs' keywords), newest first, page_size at a
        time (keyset pages)."""
        return iter_runs(self._call, page_size=page_size, **filters)

    def list_errors(
        self,
        *,
        workflow_id: str | None = None,
        since: When | None = None,
        steps_only: bool = False,
        before: ErrorRecord | None = None,
        limit: int = 100,
        payloads: bool = True,
    ) -> list[ErrorRecord]:
        """Errors, newest first, of one run or of all: durable.runs.list_errors."""
        found: list[ErrorRecord] = self._call(
            list_errors, workflow_id=workflow_id, since=since, steps_only=steps_only,
            before=before, limit=limit, payloads=payloads)
        return found


class HandleQueries:
    """The reading methods of WorkflowHandle (mixed in): the run, its steps, its errors."""

    if TYPE_CHECKING:
        app: Durable
        workflow_id: str

    def info(self, *, payloads: bool = True) -> RunInfo:
        """The run now, as durable.runs shows it (UnknownWorkflow when there is none)."""
        run: RunInfo = self.app._call(info, self.workflow_id, payloads=payloads)
        return run

    def steps(self, *, payloads: bool = True) -> list[StepRecord]:
        """Its recorded steps, by position."""
        found: list[StepRecord] = self.app._call(steps, self.workflow_id, payloads=payloads)
        return found

    def errors(self, *, limit: int = 100, payloads: bool = True) -> list[ErrorRecord]:
        """Its errors (failed step tries and attempts), newest first."""
        found: list[ErrorRecord] = self.app._call(list_errors, workflow_id=self.workflow_id,
                                                  limit=limit, payloads=payloads)
        return found
