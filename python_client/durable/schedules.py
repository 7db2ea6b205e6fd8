"""Cron schedules: durable.set_schedule, pause_schedule, resume_schedule, trigger_schedule,
drop_schedule, materialize_schedules and the view durable.schedule_status, one call each; the SQL
parses the cron, computes the ticks and decides what runs (see deploy/schedules.sql)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from . import db

MISSED = ("skip", "once", "all")

_CASTS = {
    "name": "::text", "cron": "::text", "workflow_name": "::text", "input": "::jsonb",
    "queue": "::text", "time_zone": "::text", "missed": "::text", "enabled": "::boolean",
    "grace": "::interval",
}


@dataclass(frozen=True)
class ScheduleDef:
    """A schedule declared in code (@app.schedule): set in the database when a worker starts."""

    cron: str
    fn: Callable[..., Any]
    name: str | None = None
    time_zone: str = "UTC"
    missed: str = "skip"
    grace: db.Seconds | None = None
    input: Any = None
    queue: str | None = None

    def workflow_name(self) -> str:
        """The name of the workflow it starts (its function's @app.workflow)."""
        definition = getattr(self.fn, "durable_workflow", None)
        if definition is None:
            raise TypeError(f"@app.schedule({self.cron!r}) is on {self.fn!r}, which is not a "
                            "workflow: put it on a function decorated with @app.workflow()")
        return definition.name  # type: ignore[no-any-return]


def set_schedule(conn: psycopg.Connection, name: str, *, cron: str | None = None,
                 workflow_name: str | None = None, input: Any = None, queue: str | None = None,
                 time_zone: str | None = None, missed: str | None = None,
                 enabled: bool | None = None, grace: db.Seconds | None = None) -> dict[str, Any]:
    """durable.set_schedule: create schedule name or change the settings given (None keeps
    one); returns {"created", "next_tick"}."""
    args = {"name": name, "cron": cron, "workflow_name": workflow_name,
            "input": None if input is None else Jsonb(input), "queue": queue,
            "time_zone": time_zone, "missed": missed, "enabled": enabled,
            "grace": None if grace is None else db.interval(grace)}
    sql, params = db._named_call("set_schedule", args, _CASTS)
    return db._rows(conn, sql, params)[0]


def declare(conn: psycopg.Connection, definition: ScheduleDef) -> dict[str, Any]:
    """Set a schedule declared in code; a pause made by an operator is kept (enabled not
    passed), and its next tick too unless the cron or the zone changed."""
    workflow_name = definition.workflow_name()
    return set_schedule(conn, definition.name or workflow_name, cron=definition.cron,
                        workflow_name=workflow_name, input=definition.input,
                        queue=definition.queue, time_zone=definition.time_zone,
                        missed=definition.missed, grace=definition.grace)


def materialize(conn: psycopg.Connection, limit: int | None = None) -> int:
    """durable.materialize_schedules: start the due ticks of every schedule; how many started."""
    sql, params = db._named_call("materialize_schedules", {"limit": limit}, {"limit": "::integer"})
    return int(next(iter(db._rows(conn, sql, params)[0].values())))


def _one(conn: psycopg.Connection, function: str, name: str) -> Any:
    return next(iter(db._rows(conn, f"select durable.{function}(%s::text) as v", (name,))[0].values()))


def pause(conn: psycopg.Connection, name: str) -> str:
    """durable.pause_schedule: no tick of it runs until resume; 'paused'."""
    return _one(conn, "pause_schedule", name)  # type: ignore[no-any-return]


def resume(conn: psycopg.Connection, name: str) -> Any:
    """durable.resume_schedule: runs again from its first tick after now; that tick."""
    return _one(conn, "resume_schedule", name)


def trigger(conn: psycopg.Connection, name: str) -> str:
    """durable.trigger_schedule: start its workflow now, once; the new workflow's id."""
    return _one(conn, "trigger_schedule", name)  # type: ignore[no-any-return]


def drop(conn: psycopg.Connection, name: str) -> bool:
    """durable.drop_schedule: delete it (its runs stay); whether it existed."""
    return bool(_one(conn, "drop_schedule", name))


def status(conn: psycopg.Connection, name: str | None = None) -> list[dict[str, Any]]:
    """Rows of the view durable.schedule_status (one schedule when name is given), by name."""
    if name is None:
        return db._rows(conn, "select * from durable.schedule_status order by name")
    return db._rows(conn, "select * from durable.schedule_status where name = %s::text", (name,))
