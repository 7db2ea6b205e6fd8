"""Operators' calls: bulk operations and retention (durable.cancel_where, retry_where,
purge_where, purge_batch, housekeep: one batch per call; the SQL decides what matches and how
much a batch holds) and queue settings (durable.set_queue by name)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg

from . import db

ACTIONS = ("cancel", "retry", "purge")

_CASTS = {
    "queue": "::text", "name": "::text", "status": "::text[]",
    "created_after": "::timestamptz", "created_before": "::timestamptz",
    "finished_after": "::timestamptz", "finished_before": "::timestamptz",
    "limit": "::integer", "dry_run": "::boolean",
}


def _call(conn: psycopg.Connection, action: str, filters: dict[str, Any]) -> tuple[int, bool]:
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
    args = dict(filters)
    if args.get("status") is not None:
        args["status"] = list(args["status"])
    sql, params = db._named_call(f"{action}_where", args, _CASTS)
    row = db._rows(conn, sql, params)[0]
    done, more = row.values()
    return int(done), bool(more)


def count(conn: psycopg.Connection, action: str, **filters: Any) -> int:
    """How many workflows durable.<action>_where matches now (p_dry_run: changes nothing)."""
    return _call(conn, action, {**filters, "dry_run": True})[0]


def batches(conn: psycopg.Connection, action: str, limit: int | None = None,
            **filters: Any) -> Iterator[int]:
    """Calls durable.<action>_where until it says no more may remain, one batch (and, on an
    autocommit connection, one transaction) per call; yields how many each batch did."""
    while True:
        done, more = _call(conn, action, {**filters, "limit": limit})
        yield done
        if not more:
            return


def purge_batch(conn: psycopg.Connection, older_than: db.Seconds,
                limit: int | None = None) -> tuple[int, bool]:
    """durable.purge_batch: one batch of workflows finished more than older_than ago."""
    sql, params = db._named_call("purge_batch", {"older_than": db.interval(older_than),
                                                 "limit": limit},
                                 {"older_than": "::interval", "limit": "::integer"})
    purged, more = db._rows(conn, sql, params)[0].values()
    return int(purged), bool(more)


def housekeep(conn: psycopg.Connection, worker: str) -> tuple[int, bool]:
    """durable.housekeep: one batch of retention (durable.settings.retain_*), if this session
    is elected; (purged, more)."""
    row = db._rows(conn, "select * from durable.housekeep(%s::text)", [worker])[0]
    return int(row["purged"]), bool(row["more"])


def time_filters(action: str, since: datetime | None,
                 until: datetime | None) -> dict[str, datetime | None]:
    """--since/--until: created_at for cancel (unfinished runs), finished_at otherwise."""
    column = "created" if action == "cancel" else "finished"
    return {f"{column}_after": since, f"{column}_before": until}


def set_queue(conn: psycopg.Connection, name: str, **settings: Any) -> None:
    """durable.set_queue with only the settings given (concurrency, paused, rate_limit,
    rate_period in seconds, key_concurrency); the others keep their values."""
    if settings.get("rate_period") is not None:
        settings["rate_period"] = db.interval(settings["rate_period"])
    sql, params = db._named_call("set_queue", {"name": name, **settings}, {
        "name": "::text", "concurrency": "::integer", "paused": "::boolean",
        "rate_limit": "::integer", "rate_period": "::interval", "key_concurrency": "::integer"})
    db._rows(conn, sql, params)
