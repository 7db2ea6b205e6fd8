"""Rendering rows for people (aligned tables) and for scripts (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any


def duration(value: timedelta | None) -> str:
    """A duration as 12ms, 3.4s, 5m07s or 2h03m; empty for None."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def offset(value: timedelta) -> str:
    """An event's time after its run's creation, +12ms; 'copied' before it (a fork's copied
    steps keep the times they were first recorded at, before the fork was made)."""
    return "copied" if value < timedelta(0) else "+" + duration(value)


def cell(value: Any, width: int = 60) -> str:
    """One value as a table cell: times to the second, JSON compact, long text cut."""
    if value is None:
        text = ""
    elif isinstance(value, datetime):
        text = value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    elif isinstance(value, timedelta):
        text = duration(value)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, separators=(",", ":"), default=str)
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def error_text(value: Any) -> str:
    """An error recorded by the client ({type, message, ...}) as "type: message"."""
    if isinstance(value, dict) and "message" in value:
        return f"{value['type']}: {value['message']}" if value.get("type") else str(value["message"])
    return cell(value, 10_000)


def table(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """An aligned plain-text table of the given columns."""
    body = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in body]
    return "\n".join(lines)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)


def to_json(value: Any) -> str:
    """JSON for scripts: timestamps as ISO 8601, durations as seconds."""
    return json.dumps(value, default=_default, indent=2)
