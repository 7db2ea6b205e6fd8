"""The dashboard's web application: Flask routes over durable.ui.queries, Jinja2 templates.

Server-rendered pages with no JavaScript: filters are GET forms, paging is links, charts are
inline SVG, and the only writes (cancel, retry; only with allow_changes) are POST forms behind a
confirmation page that carry a per-process token (CSRF).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from flask import Flask, g, redirect, render_template, request, url_for
from psycopg_pool import ConnectionPool

from .. import db
from ..errors import DurableError
from . import charts, queries

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50
STATEMENT_TIMEOUT_MS = 15_000
LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1", "[::1]"]


class UiError(Exception):
    """A page that cannot be shown: its HTTP status and what to do, shown to the user."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_when(value: str | None, what: str, now: datetime | None = None) -> datetime | None:
    """A time filter: empty (None), a duration ago (90s, 15m, 2h, 7d, 2w) or an ISO 8601 date
    or time (UTC when it has no offset). UiError 400 otherwise."""
    if value is None or not value.strip():
        return None
    now = now or datetime.now(timezone.utc)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        return now - timedelta(**{unit[match.group(2)]: float(match.group(1))})
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UiError(400, f"{what}: {value!r} is neither a duration (30m, 2h, 7d) nor an ISO "
                           "8601 time (2026-12-01 or 2026-12-01T08:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _keyset(at: str | None, ident: str | None) -> tuple[datetime, str] | None:
    if not at or ident is None:
        return None
    try:
        return datetime.fromisoformat(at), ident
    except ValueError:
        raise UiError(400, "the page link is malformed: start again from the first page") from None


def _pretty(value: Any, limit: int = 20_000) -> str:
    if isinstance(value, db.Undecodable):
        text = repr(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
        if len(text) > 100:  # short values on one line, longer ones indented
            text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + f"\n… ({len(text) - limit} more characters)"


def _compact(value: Any, limit: int = 400) -> str:
    text = repr(value) if isinstance(value, db.Undecodable) else json.dumps(
        value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ts(value: Any) -> str:
    if not isinstance(value, datetime):
        return "" if value is None else str(value)
    if value == db.INFINITY:
        return "never"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _times(value: Any) -> str:
    """A count of times in words: 'once', '3 times'."""
    return "once" if value == 1 else f"{value} times"


def _dur(value: Any) -> str:
    if not isinstance(value, timedelta):
        return "" if value is None else str(value)
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60):02d}m"
    return f"{int(seconds // 86400)}d {int(seconds % 86400 // 3600):02d}h"


def _ago(value: Any) -> str:
    if not isinstance(value, datetime) or value == db.INFINITY:
        return ""
    delta = datetime.now(timezone.utc) - value
    return _dur(delta) + " ago" if delta >= timedelta(0) else "in " + _dur(-delta)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(dsn: str | None = None, *, allow_changes: bool = False, host: str = "127.0.0.1",
               pool_size: int = 4) -> Flask:
    """The dashboard as a WSGI application over the database at dsn (default $DATABASE_URL).

    Connections (a pool of at most pool_size) are autocommit with statement_timeout 15 s and,
    unless allow_changes, default_transaction_read_only on: the server itself then refuses any
    write. Raises durable.errors.UnsupportedSchema when the schema is missing or of another
    version, psycopg.OperationalError when the database cannot be reached.
    """
    app = Flask("durable.ui", template_folder=str(HERE / "templates"),
                static_folder=str(HERE / "static"))
    app.config["DURABLE_ALLOW_CHANGES"] = allow_changes
    if _loopback(host):
        # a page of another site that resolves its own name to 127.0.0.1 (DNS rebinding) is
        # refused: only requests for a loopback name are answered
        app.config["TRUSTED_HOSTS"] = LOOPBACK_NAMES
    token = secrets.token_urlsafe(32)

    def configure(conn: psycopg.Connection) -> None:
        db.configure(conn)
        conn.execute(f"set statement_timeout = {STATEMENT_TIMEOUT_MS}")
        conn.execute("set application_name = 'durable ui'")
        if not allow_changes:
            conn.execute("set default_transaction_read_only = on")

    pool = ConnectionPool(db.resolve_dsn(dsn), min_size=1, max_size=pool_size,
                          kwargs={"autocommit": True}, configure=configure, open=False,
                          name="durable-ui")
    pool.open(wait=True, timeout=15)
    with pool.connection() as conn:
        db.check_schema(conn)
        rights = queries.access(conn)
        bytewise = queries.bytewise_ids(conn)
    app.extensions["durable_pool"] = pool

    app.jinja_env.filters.update(ts=_ts, dur=_dur, times=_times, ago=_ago, pretty=_pretty, compact=_compact)
    app.jinja_env.globals.update(statuses=queries.STATUSES, unfinished=queries.UNFINISHED)

    @contextmanager
    def connection() -> Iterator[psycopg.Connection]:
        with pool.connection() as conn:
            started = time.perf_counter()
            try:
                yield conn
            finally:
                g.query_ms = g.get("query_ms", 0.0) + (time.perf_counter() - started) * 1000

    @app.context_processor
    def common() -> dict[str, Any]:
        return {"rights": rights, "allow_changes": allow_changes,
                "query_ms": g.get("query_ms")}

    @app.after_request
    def headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(UiError)
    def ui_error(exc: UiError) -> Any:
        return render_template("message.html", title="Cannot show this", message=exc.message,
                               status=exc.status), exc.status

    @app.errorhandler(psycopg.Error)
    def database_error(exc: psycopg.Error) -> Any:
        why = exc.diag.message_primary or str(exc)
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            why += (" (this login lacks a durable role: the dashboard needs durable_observer to "
                    "read, durable_client to cancel and retry)")
        return render_template("message.html", title="Database error",
                               message=f"{exc.sqlstate or ''} {why}".strip(),
                               status=503), 503

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("runs"))

    @app.get("/runs")
    def runs() -> Any:
        args = request.args
        status = args.get("status") or None
        if status is not None and status not in queries.STATUSES:
            raise UiError(400, f"status: {status!r} is not one of {', '.join(queries.STATUSES)}")
        # q, the search box; id too (/runs?id=X, as /run?id=X)
        search = (args.get("q") or args.get("id") or "").strip()
        filters = queries.RunFilter(
            status=status, queue=(args.get("queue") or "").strip() or None,
            name=(args.get("name") or "").strip() or None,
            since=parse_when(args.get("since"), "since"),
            until=parse_when(args.get("until"), "until"), id_prefix=search or None)
        before = _keyset(args.get("before_at"), args.get("before_id"))
        with connection() as conn:
            if search and before is None and queries.run_exists(conn, search):
                return redirect(url_for("run", id=search))
            rows, after = queries.runs(conn, filters, before=before, limit=PAGE_SIZE,
                                       bytewise=bytewise)
        kept = {k: v for k, v in args.items() if k in ("status", "queue", "name", "since",
                                                        "until", "q") and v}
        next_url = (url_for("runs") + "?" + urlencode(
            {**kept, "before_at": after[0].isoformat(), "before_id": after[1]})) if after else None
        first_url = (url_for("runs") + ("?" + urlencode(kept) if kept else "")) if before else None
        return render_template("runs.html", rows=rows, args=args, next_url=next_url,
                               first_url=first_url)

    @app.get("/run")
    def run() -> Any:
        workflow_id = request.args.get("id") or ""
        with connection() as conn:
            row = queries.run(conn, workflow_id, payloads=rights.payloads)
            if row is None:
                raise UiError(404, f"no workflow run has the id {workflow_id!r}")
            events = queries.timeline(conn, workflow_id, payloads=rights.payloads)
            kids = queries.children(conn, workflow_id)
        for event in events:
            event["offset"] = event["at"] - row["created_at"]
        done = request.args.get("done")
        return render_template("run.html", run=row, events=events, children=kids,
                               done=done if done in ("cancel", "retry") else None)

    def _changes_on(action: str) -> None:
        if not allow_changes:
            raise UiError(403, f"{action} is off: start the dashboard with --allow-changes "
                               "(and a login granted durable_client) to cancel and retry runs")

    @app.get("/run/<any(cancel, retry):action>")
    def confirm(action: str) -> Any:
        _changes_on(action)
        workflow_id = request.args.get("id") or ""
        with connection() as conn:
            row = queries.run(conn, workflow_id, payloads=False)
        if row is None:
            raise UiError(404, f"no workflow run has the id {workflow_id!r}")
        return render_template("confirm.html", run=row, action=action, token=token)

    @app.post("/run/<any(cancel, retry):action>")
    def change(action: str) -> Any:
        _changes_on(action)
        sent = request.form.get("token", "")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise UiError(403, "this form is not from this dashboard process (it was restarted, "
                               "or another site sent it): open the run again and confirm there")
        workflow_id = request.form.get("id") or ""
        if request.form.get("confirm") != "yes":
            raise UiError(400, f"{action} needs the confirmation: tick the box and submit")
        with connection() as conn:
            try:
                (db.cancel if action == "cancel" else db.retry)(conn, workflow_id)
            except DurableError as exc:
                raise UiError(409, f"{exc.sqlstate}: {exc}") from exc
        return redirect(url_for("run", id=workflow_id, done=action), code=303)

    @app.get("/queues")
    def queues_page() -> Any:
        with connection() as conn:
            rows = queries.queues(conn)
            flow = queries.throughput(conn)
        now = datetime.now(timezone.utc)
        start = now - timedelta(hours=1)
        buckets = [start + timedelta(minutes=5 * i) for i in range(12)]
        names = sorted({r["queue"] for r in rows} | {f["queue"] for f in flow})
        series = ["succeeded", "failed", "cancelled"]
        per_queue = {}
        for name in names + [None]:
            counts = {(b, s): 0 for b in range(12) for s in series}
            for f in flow:
                if name is None or f["queue"] == name:
                    # buckets start at the server's now() - 1 hour, a moment before start
                    i = min(max(round((f["bucket"] - start).total_seconds() / 300), 0), 11)
                    counts[(i, f["status"])] += f["n"]
            groups = [(buckets[i].strftime("%H:%M"), [counts[(i, s)] for s in series])
                      for i in range(12)]
            per_queue[name] = charts.bars(groups, series, width=240 if name else 720,
                                          height=56 if name else 140,
                                          label_every=3 if name else 1)
        return render_template("queues.html", rows=rows, charts=per_queue)

    @app.get("/workers")
    def workers_page() -> Any:
        with connection() as conn:
            rows = queries.workers(conn)
            holding = queries.held(conn, [r["id"] for r in rows if r["running"]])
        by_worker: dict[str, list[queries.Row]] = {}
        for h in holding:
            by_worker.setdefault(h["owner"], []).append(h)
        return render_template("workers.html", rows=rows, held=by_worker)

    @app.get("/errors")
    def errors_page() -> Any:
        before = _keyset(request.args.get("before_at"), request.args.get("before_id"))
        with connection() as conn:
            days = queries.errors_per_day(conn, counted=rights.can_count_failures)
            failed, after = queries.failed_runs(conn, payloads=rights.payloads, before=before,
                                                limit=PAGE_SIZE)
            steps = queries.failed_steps(conn, payloads=rights.payloads) if before is None \
                else []
        today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        counts = {d["day"].astimezone(timezone.utc).date(): d for d in days}
        groups = []
        for i in range(29, -1, -1):
            day = (today - timedelta(days=i)).date()
            d = counts.get(day)
            groups.append((day.strftime("%m-%d"), [d["runs"] if d else 0, d["steps"] if d else 0]))
        chart = charts.bars(groups, ["failed runs", "failed step tries"], label_every=5)
        next_url = (url_for("errors_page") + "?" + urlencode(
            {"before_at": after[0].isoformat(), "before_id": after[1]})) if after else None
        return render_template("errors.html", per_day=chart, failed=failed, steps=steps,
                               next_url=next_url, paged=before is not None)

    return app


def serve(app: Flask, host: str = "127.0.0.1", port: int = 8188, threads: int = 4,
          ready: Any = None) -> None:
    """Serve app with waitress (a production WSGI server in pure Python) until interrupted;
    ready(url) is called once the socket listens (the CLI prints it)."""
    from waitress.server import BaseWSGIServer, create_server

    server = create_server(app, host=host, port=port, threads=threads, ident="durable-ui")
    if isinstance(server, BaseWSGIServer):
        bound_port = str(server.getsockname()[1])
    else:  # a name of several addresses (localhost: 127.0.0.1 and ::1), a socket each
        bound_port = str(server.effective_listen[0][1])
    bound_host = host if ":" not in host else f"[{host}]"
    if ready is not None:
        ready(f"http://{bound_host}:{bound_port}/")
    try:
        server.run()
    finally:
        server.close()
        app.extensions["durable_pool"].close()
