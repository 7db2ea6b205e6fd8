"""The dashboard's reads: every statement `durable ui` sends, each one read of a `durable.*` view.

Each function takes a connection (autocommit, configured by durable.db.configure) and returns
dicts. They are written to stay fast with millions of runs (bench/ui_bench.py measures them):

- no count(*) over all runs: lists are keyset-paged (`limit n + 1` tells whether there is a next
  page), counts are over the unfinished rows only (durable.queue_stats) or over a time window
  that an index bounds (finished_at of finished runs: workflows_finished; errors: errors_created);
- the run list is newest first on (created_at, id) (index workflows_created); a page is at most
  `limit` rows.

Payloads (input, output, error, step outputs, timeline details) are read only when the
connected login may read them (`payloads=True`: it may select from durable.runs); otherwise the
payload-free *_meta views that durable_observer reads are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg.rows import dict_row

STATUSES = ("pending", "running", "waiting", "succeeded", "failed", "cancelled")
UNFINISHED = ("pending", "running", "waiting")
Row = dict[str, Any]

RUN_LIST_COLUMNS = ("id, name, queue, status, attempt, max_attempts, created_at, run_at,"
                    " started_at, finished_at, duration, owner, parent_id, waiting_for,"
                    " error_type")


def _rows(conn: psycopg.Connection, sql: str, params: Any = ()) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


@dataclass(frozen=True)
class Access:
    """What the connected login may do: read payloads (select on durable.runs), cancel and
    retry (execute on durable.cancel and durable.retry), count failures per day (execute on
    durable.failures_per_day: the observer and payload reader), and who it is."""

    user: str
    payloads: bool
    can_cancel: bool
    can_retry: bool
    can_count_failures: bool = False


def access(conn: psycopg.Connection) -> Access:
    """The connected login's rights, from the catalog's privilege functions (one round trip)."""
    row = _rows(conn, "select current_user as user,"
                      " pg_catalog.has_table_privilege('durable.runs', 'select') as payloads,"
                      " pg_catalog.has_function_privilege('durable.cancel(text)', 'execute')"
                      "   as can_cancel,"
                      " pg_catalog.has_function_privilege('durable.retry(text)', 'execute')"
                      "   as can_retry,"
                      " pg_catalog.has_function_privilege('durable.failures_per_day(integer)',"
                      "   'execute') as can_count_failures")[0]
    return Access(**row)


@dataclass(frozen=True)
class RunFilter:
    """The run list's filters: status, queue, workflow name (exact), created_at in [since,
    until), id prefix; None or empty: no filter."""

    status: str | None = None
    queue: str | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    id_prefix: str | None = None


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _after_prefix(text: str) -> str | None:
    """The smallest string greater than every string that starts with text, in code point
    order (None when there is none)."""
    while text:
        last = ord(text[-1])
        if last < 0x10FFFF and not 0xD7FF <= last < 0xE000:
            return text[:-1] + chr(last + 1)
        text = text[:-1]
    return None


def bytewise_ids(conn: psycopg.Connection) -> bool:
    """Whether durable.runs_meta.id sorts in code point order (the C, POSIX and C.UTF-8
    collations): then an id prefix is a range of the primary key."""
    rows = _rows(conn, "select pg_catalog.max(c.collname) as name from pg_catalog.pg_attribute a"
                       " left join pg_catalog.pg_collation c on c.oid = a.attcollation"
                       " where a.attrelid = 'durable.runs_meta'::pg_catalog.regclass"
                       "   and a.attname = 'id'")
    name = rows[0]["name"] if rows else None
    if name == "default":
        name = _rows(conn, "select datcollate as name from pg_catalog.pg_database"
                           " where datname = pg_catalog.current_database()")[0]["name"]
    return (name or "").lower().replace("-", "") in ("c", "posix", "c.utf8", "ucs_basic")


def runs(conn: psycopg.Connection, filters: RunFilter, *, before: tuple[datetime, str] | None
         = None, limit: int = 50, bytewise: bool = False
         ) -> tuple[list[Row], tuple[datetime, str] | None]:
    """One page of durable.runs_meta, newest first (created_at desc, id desc), and the keyset
    of the next page (None on the last): `before` is the (created_at, id) of the last row of
    the previous page. bytewise (see bytewise_ids): an id prefix is also given as a range of
    the primary key."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("status", filters.status), ("queue", filters.queue),
                          ("name", filters.name)):
        if value:
            where.append(f"{column} = %s")
            params.append(value)
    if filters.since is not None:
        where.append("created_at >= %s")
        params.append(filters.since)
    if filters.until is not None:
        where.append("created_at < %s")
        params.append(filters.until)
    if filters.id_prefix:
        where.append("id like %s")
        params.append(_like_prefix(filters.id_prefix))
        upper = _after_prefix(filters.id_prefix) if bytewise else None
        if upper is not None:
            # the same rows as a range of the primary key (a like prefix uses an index only in
            # a database whose collation is exactly C)
            where.append("id >= %s and id < %s")
            params.extend([filters.id_prefix, upper])
    if before is not None:
        # row comparison: the index on created_at bounds the scan, id breaks ties
        where.append("(created_at, id) < (%s, %s)")
        params.extend(before)
    sql = f"select {RUN_LIST_COLUMNS} from durable.runs_meta"
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by created_at desc, id desc limit %s"
    params.append(limit + 1)
    rows = _rows(conn, sql, params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1]["created_at"], rows[-1]["id"]) if more and rows else None)


def run_exists(conn: psycopg.Connection, workflow_id: str) -> bool:
    """Whether a run with exactly this id exists (primary key)."""
    return bool(_rows(conn, "select 1 as one from durable.runs_meta where id = %s",
                      [workflow_id]))


def run(conn: psycopg.Connection, workflow_id: str, *, payloads: bool) -> Row | None:
    """One run of durable.runs (with input, output and error) or durable.runs_meta; None when
    there is none."""
    view = "durable.runs" if payloads else "durable.runs_meta"
    extra = "input, output, error, error ->> 'type' as error_type" if payloads else \
        "error_type"
    rows = _rows(conn, "select id, name, queue, status, priority, attempt, max_attempts, run_at,"
                       " owner, claims, created_at, claimed_at, started_at, finished_at,"
                       " duration, version, lost_leases, parent_id, deadline, waiting_for,"
                       " waiting_since, concurrency_key, forked_from, forked_at, "
                       f"{extra} from {view} where id = %s", [workflow_id])
    return rows[0] if rows else None


def timeline(conn: psycopg.Connection, workflow_id: str, *, payloads: bool) -> list[Row]:
    """durable.timeline (with detail) or durable.timeline_meta of one run, in order: steps,
    failed tries and attempts, waits and wake-ups."""
    if payloads:
        sql = ("select at, kind, step_id, name, attempt, duration, is_error, detail,"
               " case when is_error then detail ->> 'type' end as error_type"
               " from durable.timeline where workflow_id = %s")
    else:
        sql = ("select at, kind, step_id, name, attempt, duration, is_error, null::jsonb as"
               " detail, error_type from durable.timeline_meta where workflow_id = %s")
    return _rows(conn, sql + " order by at, step_id nulls last, kind", [workflow_id])


def children(conn: psycopg.Connection, workflow_id: str, *, limit: int = 200) -> list[Row]:
    """The child workflows of a run (index workflows_children), oldest first, at most limit."""
    return _rows(conn, f"select {RUN_LIST_COLUMNS} from durable.runs_meta where parent_id = %s"
                       " order by created_at, id limit %s", [workflow_id, limit])


def queues(conn: psycopg.Connection) -> list[Row]:
    """durable.queue_stats, by queue name (it counts unfinished runs only)."""
    return _rows(conn, "select queue, concurrency, paused, pending, running, waiting,"
                       " oldest_pending, scheduled, next_scheduled, rate_limit, rate_period,"
                       " next_start_at, key_concurrency from durable.queue_stats order by queue")


def throughput(conn: psycopg.Connection, *, window: timedelta = timedelta(hours=1),
               bucket: timedelta = timedelta(minutes=5)) -> list[Row]:
    """Runs that finished in the last `window`, per queue, bucket (its start) and status. One
    range of the index workflows_finished (status, finished_at) per status: with the three
    statuses in one `in (...)` PostgreSQL before 18 (no skip scan) reads the whole index."""
    per_status = " union all ".join(
        "select queue, finished_at, status from durable.runs_meta"
        f" where status = '{status}' and finished_at > pg_catalog.now() - %(window)s"
        for status in ("succeeded", "failed", "cancelled"))
    return _rows(conn, "select queue, pg_catalog.date_bin(%(bucket)s, finished_at,"
                       "   pg_catalog.now() - %(window)s) as bucket, status, count(*) as n"
                       f" from ({per_status}) f group by 1, 2, 3",
                 {"bucket": bucket, "window": window})


def workers(conn: psycopg.Connection) -> list[Row]:
    """durable.worker_status: alive ones first, then by id."""
    return _rows(conn, "select id, started_at, heartbeat_at, lease_timeout, expires_at, alive,"
                       " running, busy, connections, concurrency_limit from durable.worker_status"
                       " order by alive desc, id")


def held(conn: psycopg.Connection, worker_ids: list[str]) -> list[Row]:
    """The running runs these workers hold (index workflows_leased)."""
    if not worker_ids:
        return []
    return _rows(conn, "select id, name, queue, owner, claimed_at, started_at, attempt"
                       " from durable.runs_meta where status = 'running' and owner = any(%s)"
                       " order by owner, claimed_at, id", [worker_ids])


def errors_per_day(conn: psycopg.Connection, *, days: int = 30, counted: bool = True
                   ) -> list[Row]:
    """Per UTC day of the last `days`: failed runs (by finished_at) and failed step tries (by
    created_at). counted: through durable.failures_per_day (index-only counts); otherwise,
    for a login that may not call it, through the views (which read every failed run's row):
    only days with failures then."""
    if counted:
        return _rows(conn, "select day, failed_runs as runs, failed_step_tries as steps"
                           " from durable.failures_per_day(%s)", [days])
    midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    first = midnight - timedelta(days=days - 1)
    return _rows(conn, "select day, sum(runs)::bigint as runs, sum(steps)::bigint as steps from ("
                       " select pg_catalog.date_trunc('day', finished_at, 'UTC') as day,"
                       "   count(*) as runs, 0 as steps from durable.runs_meta"
                       "  where status = 'failed'"
                       "    and finished_at >= %(first)s group by 1"
                       " union all"
                       " select pg_catalog.date_trunc('day', created_at, 'UTC'), 0, count(*)"
                       "   from durable.run_errors_meta"
                       "  where step_id is not null and created_at >= %(first)s"
                       "  group by 1) d group by day order by day",
                 {"first": first})


def failed_runs(conn: psycopg.Connection, *, days: int = 30, payloads: bool,
                before: tuple[datetime, str] | None = None, limit: int = 50
                ) -> tuple[list[Row], tuple[datetime, str] | None]:
    """The README's query: runs that failed in the last `days`, last failed first, keyset-paged
    on (finished_at, id), with the error's type (and message, for payload readers)."""
    view = "durable.runs" if payloads else "durable.runs_meta"
    message = ("error ->> 'type' as error_type, error ->> 'message' as message" if payloads
               else "error_type, null as message")
    params: list[Any] = [timedelta(days=days)]
    sql = (f"select id, name, queue, attempt, finished_at, {message} from {view}"
           " where status = 'failed' and finished_at > pg_catalog.now() - %s")
    if before is not None:
        sql += " and (finished_at, id) < (%s, %s)"
        params.extend(before)
    sql += " order by finished_at desc, id desc limit %s"
    params.append(limit + 1)
    rows = _rows(conn, sql, params)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1]["finished_at"], rows[-1]["id"]) if more and rows else None)


def failed_steps(conn: psycopg.Connection, *, days: int = 30, payloads: bool,
                 limit: int = 50) -> list[Row]:
    """The README's second query: the latest failed step tries of the last `days`."""
    view = "durable.run_errors" if payloads else "durable.run_errors_meta"
    message = ("error ->> 'type' as error_type, error ->> 'message' as message" if payloads
               else "error_type, null as message")
    return _rows(conn, f"select workflow_id, workflow_name, queue, step_id, step_name, attempt,"
                       f" created_at, {message} from {view}"
                       " where step_id is not null and created_at > pg_catalog.now() - %s"
                       " order by created_at desc, id desc limit %s",
                 [timedelta(days=days), limit])

