"""The `durable` command: click options in, durable.* calls, tables or JSON out; no logic."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
import psycopg

from . import bulk, db, output, runs, schedules, sqitch
from .app import Durable
from .errors import DurableError
from .sharding import ShardedWorker
from .worker import Worker

# run_at: when a pending run may start (a delayed one: in the future); duration: from its
# first claim (started_at) to its end, without the delay
RUN_COLUMNS = ["id", "name", "queue", "status", "attempt", "created_at", "run_at", "duration",
               "owner", "waiting_for", "waiting_since"]
CHILD_COLUMNS = ["id", "name", "status", "created_at", "finished_at", "waiting_for"]
TIMELINE_COLUMNS = ["at", "offset", "kind", "step_id", "name", "attempt", "duration", "detail"]


def _since(value: str | None) -> datetime | timedelta | None:
    """--since: 90s, 15m, 2h, 7d, 2w, or an ISO 8601 time."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", value)
    if match:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
        return timedelta(**{unit[match.group(2)]: float(match.group(1))})
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use a duration like 30m, 2h, 7d, or an ISO 8601 time") from None


def _readable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of durable.runs with the timestamp infinity (the run_at of a run that waits with
    no deadline) written as "infinity"."""
    for row in rows:
        for key, value in row.items():
            if isinstance(value, datetime) and value == db.INFINITY:
                row[key] = "infinity"
    return rows


class _Context:
    def __init__(self, dsn: str | None):
        self.dsn = dsn
        self._conn: psycopg.Connection | None = None

    def conn(self) -> psycopg.Connection:
        if self._conn is None:
            conn = db.connect(self.dsn, application_name="durable cli")
            try:
                db.check_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn


NO_SCHEMA = ("the durable schema is not deployed in this database ({}): run `durable db deploy`"
             " (or `sqitch deploy`) against it")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn durable and database errors into a one-line message and exit status 1."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DurableError as exc:
            code = f"{exc.sqlstate}: " if exc.sqlstate else ""
            raise click.ClickException(_one_line(f"{code}{exc}")) from exc
        except psycopg.OperationalError as exc:
            raise click.ClickException(_one_line(f"cannot reach the database: {exc}")) from exc
        except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction,
                psycopg.errors.InvalidSchemaName) as exc:
            why = exc.diag.message_primary or str(exc)
            raise click.ClickException(_one_line(NO_SCHEMA.format(why))) from exc
        except psycopg.Error as exc:
            code = f"{exc.sqlstate}: " if exc.sqlstate else ""
            why = exc.diag.message_primary or str(exc)
            raise click.ClickException(_one_line(f"database error: {code}{why}")) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group()
@click.option("--dsn", envvar="DATABASE_URL", help="libpq DSN or URI [env DATABASE_URL].")
@click.pass_context
def main(ctx: click.Context, dsn: str | None) -> None:
    """Durable workflows with Postgres as the orchestrator."""
    ctx.obj = _Context(dsn)


# -- db ------------------------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Deploy, verify, revert or inspect the durable schema with Sqitch."""


def _sqitch(command: str, args: list[str]) -> Callable[..., None]:
    @click.option("--project", type=click.Path(file_okay=False, path_type=Path),
                  help="Folder with sqitch.plan (default: found from here or the package).")
    @click.option("--role-prefix", envvar="DURABLE_ROLE_PREFIX",
                  help="The database's role_prefix (default durable; $DURABLE_ROLE_PREFIX): "
                       "the same on every deploy, verify and revert of one database.")
    @click.pass_obj
    @_guard
    def run(obj: _Context, project: Path | None, role_prefix: str | None, **flags: Any) -> None:
        extra = list(args) + (["-y"] if flags.get("yes") else [])
        if command == "deploy" and sqitch.installed_without_sqitch(
                obj.dsn, sqitch.plan_changes(project)[0]):
            raise click.ClickException(sqitch.adopt_recipe(obj.dsn))
        if role_prefix and command != "status":  # (sqitch status takes no variables)
            extra += ["--set", f"role_prefix={role_prefix}"]
        if command in CHANGE_MARKS and _interactive(sys.stderr):
            status = _sqitch_with_bar(command, obj.dsn, project, extra)
        else:
            status = sqitch.run(command, obj.dsn, project=project, args=extra)
        if status:
            raise click.exceptions.Exit(status)

    return run


# the mark Sqitch prints before each change it deploys, reverts or verifies ("  + claim .. ok")
CHANGE_MARKS = {"deploy": "+", "revert": "-", "verify": "*"}


def _interactive(stream: Any) -> bool:
    """Whether stream is a terminal: progress bars and live views only there, so that scripts
    and logs get the plain output."""
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def _sqitch_with_bar(command: str, dsn: str | None, project: Path | None,
                     extra: list[str]) -> int:
    """sqitch COMMAND with a progress bar on stderr (N changes, the one done last) in place of
    its line per change; its other lines are printed as they are (those that come once the
    bar is drawn, after it)."""
    total = sqitch.changes_to_run(command, dsn, project)
    if not total:  # nothing to do (Sqitch says so), or the registry could not be read
        return sqitch.run(command, dsn, project=project, args=extra)
    # "  + claim ...... ok", "  + privileges @v0.1.0 .. ok" (a reworked change, with its tag)
    change = re.compile(rf"\s+{re.escape(CHANGE_MARKS[command])} (.+?) \.+ ?(.*)$")
    after: list[str] = []
    with contextlib.ExitStack() as stack:
        bar: Any = None
        pending: str | None = None  # a change whose "ok" has not come yet

        def show(text: str) -> None:
            if bar is None:
                click.echo(text)
            else:
                after.append(text)

        def line(text: str) -> None:
            nonlocal bar, pending
            found = change.match(text)
            if found is not None:
                pending, tail = found.group(1), found.group(2)
            else:
                tail = text.strip()
            if pending is not None and tail == "ok":
                if bar is None:
                    bar = stack.enter_context(click.progressbar(
                        length=total, label=f"{command}: {total} changes", file=sys.stderr,
                        show_pos=True, item_show_func=lambda name: name))
                bar.update(1, pending)
                pending = None
            elif found is None or tail == "not ok":
                show(text)
            # else: what the change's script printed (psql's "1"): its "ok" is on the next line

        status = sqitch.run(command, dsn, project=project, args=extra, on_line=line)
    for text in after:
        click.echo(text)
    return status


db_group.command("deploy", help="Deploy every change of sqitch.plan not yet deployed.")(
    _sqitch("deploy", []))
db_group.command("verify", help="Run the verify script of every deployed change.")(
    _sqitch("verify", []))
db_group.command("status", help="Show which change is deployed.")(_sqitch("status", []))
db_group.command("revert", help="Revert every deployed change (asks first unless --yes).")(
    click.option("--yes", "-y", is_flag=True, help="Do not ask.")(_sqitch("revert", [])))


# -- worker --------------------------------------------------------------------------------------


def _load_app(spec: str, path: str | None) -> Durable:
    module_name, _, attr = spec.partition(":")
    sys.path.insert(0, os.path.abspath(path or os.getcwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(f"cannot import {module_name}: {exc}", param_hint="APP") from exc
    app = getattr(module, attr or "app", None)
    if not isinstance(app, Durable):
        raise click.BadParameter(f"{spec} is not a durable.Durable app", param_hint="APP")
    return app


@main.command()
@click.argument("app_spec", metavar="MODULE[:APP]")
@click.option("--queues", "-q", help="Comma-separated queues, served in this order "
              "(default: the queues of the app's workflows).")
@click.option("--concurrency", "-c", default=4, show_default=True, type=click.IntRange(1, 1000),
              help="Workflows run at once (threads).")
@click.option("--async-concurrency", type=click.IntRange(1, 100000),
              help="Async def workflows run at once on the worker's event loop (default: 100 "
                   "when the app has any).")
@click.option("--async-connections", default=8, show_default=True, type=click.IntRange(1, 100),
              help="Connections the async runs share.")
@click.option("--lease-timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds without a heartbeat before the workflows are reclaimed "
                   "(default: the server's durable.settings).")
@click.option("--poll-interval", default=1.0, show_default=True, type=float,
              help="Seconds between polls when no notification comes.")
@click.option("--grace", default=10.0, show_default=True, type=float,
              help="Seconds running workflows get to finish on SIGTERM before they are released.")
@click.option("--worker-id", help="Unique worker name (default: host-pid-random).")
@click.option("--connections", type=click.IntRange(1, 1000),
              help="Connections the slots share (default: one per slot); the worker holds at "
                   "most this many + 3 (main, heartbeat, listener).")
@click.option("--backpressure/--no-backpressure", default=False, show_default=True,
              help="Bound the workflows held at once by an adaptive limit on the latency of "
                   "the worker's own calls (Envoy's adaptive concurrency gradient).")
@click.option("--backpressure-min", default=2, show_default=True, type=click.IntRange(1, 100000),
              help="The adaptive limit's floor.")
@click.option("--transaction-pooler", is_flag=True, envvar="DURABLE_TRANSACTION_POOLER",
              help="The DSN goes through a transaction pooler (PgBouncer, pool_mode = "
                   "transaction): no prepared statements, no session settings "
                   "[env DURABLE_TRANSACTION_POOLER].")
@click.option("--listen-dsn", envvar="DURABLE_LISTEN_DSN",
              help="A direct connection string for LISTEN (with --transaction-pooler; without "
                   "it the worker polls) [env DURABLE_LISTEN_DSN].")
@click.option("--path", type=click.Path(file_okay=False), help="Folder to import MODULE from "
              "(default: the working directory).")
@click.option("--log-level", default="INFO", show_default=True)
@click.option("--shard", "shards", multiple=True, metavar="DSN",
              help="A shard of a sharded deployment (repeat for each): the worker claims from "
                   "every shard, with --concurrency slots per shard (durable.sharding).")
@click.pass_obj
@_guard
def worker(obj: _Context, app_spec: str, queues: str | None, concurrency: int,
           async_concurrency: int | None, async_connections: int,
           lease_timeout: float | None, poll_interval: float, grace: float,
           worker_id: str | None, connections: int | None, backpressure: bool,
           backpressure_min: int, transaction_pooler: bool, listen_dsn: str | None,
           path: str | None, log_level: str, shards: tuple[str, ...]) -> None:
    """Run the workflows of MODULE:APP until SIGTERM or SIGINT."""
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    app = _load_app(app_spec, path)
    options: dict[str, Any] = {
        "queues": [q.strip() for q in queues.split(",") if q.strip()] if queues else None,
        "concurrency": concurrency, "lease_timeout": lease_timeout,
        "poll_interval": poll_interval, "grace": grace, "worker_id": worker_id,
        "async_concurrency": async_concurrency, "async_connections": async_connections,
        "connections": connections, "backpressure": backpressure,
        "backpressure_min": backpressure_min,
        "transaction_pooler": transaction_pooler or app.transaction_pooler}
    w: Worker | ShardedWorker
    if shards:
        if listen_dsn:
            raise click.BadParameter("names one database: not with --shard",
                                     param_hint="--listen-dsn")
        w = ShardedWorker(app, list(shards), **options)
    else:
        w = Worker(app, dsn=obj.dsn if obj.dsn is not None else app.dsn, listen_dsn=listen_dsn,
                   **options)
    if transaction_pooler:
        app.transaction_pooler = True  # what its steps enqueue goes through the pooler too
    w.run()
    if w.leftover_threads():
        # a slot is still inside a step that was released: do not wait for it
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


# -- client commands -----------------------------------------------------------------------------


@main.command()
@click.argument("name")
@click.option("--input", "input_", default="[]", show_default=True,
              help="JSON input: an array is the workflow's arguments, another value its one "
                   "argument.")
@click.option("--queue", help="Queue (default: the one its workers registered, else default).")
@click.option("--id", "workflow_id", help="Workflow id, for idempotency (default: generated).")
@click.option("--delay", type=float, help="Seconds before it may run.")
@click.option("--priority", type=int, help="Higher runs first.")
@click.option("--max-attempts", type=int, help="Attempts of the whole workflow.")
@click.option("--timeout", type=float, help="Seconds from its run time to its deadline, when it "
              "and its children are cancelled (default: the one its workers registered).")
@click.option("--wait", "wait", type=float, help="Wait up to this many seconds for the result.")
@json_option
@click.pass_obj
@_guard
def enqueue(obj: _Context, name: str, input_: str, queue: str | None, workflow_id: str | None,
            delay: float | None, priority: int | None, max_attempts: int | None,
            timeout: float | None, wait: float | None, as_json: bool) -> None:
    """Start workflow NAME."""
    try:
        value = json.loads(input_)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--input") from exc
    wid, created = db.enqueue(obj.conn(), name, value, queue=queue, workflow_id=workflow_id,
                              delay=delay, priority=priority, max_attempts=max_attempts,
                              timeout=timeout)
    info: dict[str, Any] = {"workflow_id": wid, "created": created}
    if wait is not None:
        app = Durable(obj.dsn)
        try:
            if _interactive(sys.stderr):  # a line of progress about every second
                waiting = _Waiting(app, obj.conn(), wid, wait)
                with click.progressbar(waiting, label=f"waiting for {wid}", file=sys.stderr,
                                       item_show_func=lambda text: text) as bar:
                    for _ in bar:
                        pass
                info["output"] = waiting.output
            else:  # one LISTEN durable_finished for the whole wait
                info["output"] = app.handle(wid).result(timeout=wait)
            info["status"] = "succeeded"
        except TimeoutError as exc:
            raise click.ClickException(_still_running(obj.conn(), wid, exc)) from exc
        finally:
            app.close()
    if as_json:
        click.echo(output.to_json(info))
    else:
        click.echo(wid if created else f"{wid} (already existed)")
        if "output" in info:
            click.echo(output.cell(info["output"], 2000))


def _still_running(conn: psycopg.Connection, workflow_id: str, exc: TimeoutError) -> str:
    """The message of an enqueue --wait that timed out: the run's own queue (durable.runs), and
    the advice to start a worker only while the run is pending."""
    rows = db.runs(conn, workflow_id=workflow_id, limit=1)
    run = rows[0] if rows else {}
    show = f"`durable show {workflow_id}` tells where the run is"
    if run.get("status") == "pending":
        return (f"{exc}: is a worker serving queue {run.get('queue')}? Start one with "
                f"`durable worker MODULE:APP`; {show}")
    if run.get("status") == "running":
        return f"{exc}: worker {run.get('owner')} is running it; {show}"
    return f"{exc}; {show}"


def _plural(n: int, word: str) -> str:
    """'1 workflow', '2 workflows'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Waiting:
    """Iterating waits for a run to finish, up to `wait` seconds, and yields a line of progress
    about every second ("running, 2 steps", "waiting (message on topic ...), 1 step"), the last
    one when it has finished; then .output is its output. WorkflowFailed, WorkflowCancelled,
    or TimeoutError when the time is out. Each second: WorkflowHandle.result (LISTEN
    durable_finished and durable.watch), then a read of durable.runs and durable.timeline."""

    def __init__(self, app: Durable, conn: psycopg.Connection, workflow_id: str, wait: float):
        self.handle = app.handle(workflow_id)
        self.conn = conn
        self.wait = wait
        self.output: Any = None

    def describe(self) -> str:
        """The run's status (with what it waits for) and how many steps it has recorded."""
        runs = db.runs(self.conn, workflow_id=self.handle.workflow_id, limit=1)
        if not runs:
            return "unknown"
        run = runs[0]
        steps = sum(1 for e in db.timeline(self.conn, run["id"]) if e["kind"] == "step")
        status = run["status"]
        if run.get("waiting_for"):
            status += f" ({run['waiting_for']})"
        return f"{status}, {steps} step{'' if steps == 1 else 's'}"

    def __iter__(self) -> Any:
        deadline = time.monotonic() + self.wait
        while True:
            try:
                left = deadline - time.monotonic()
                self.output = self.handle.result(timeout=max(0.0, min(left, 1.0)))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"workflow {self.handle.workflow_id} is still "
                                       f"{self.handle.status()} after {self.wait:g}s") from None
                yield self.describe()
                continue
            yield self.describe()
            return


@main.command("list")
@click.option("--status", multiple=True, type=click.Choice(
    ["pending", "running", "waiting", "succeeded", "failed", "cancelled"]),
    help="Repeat for several statuses.")
@click.option("--queue")
@click.option("--name")
@click.option("--since", help="Created since: 30m, 2h, 7d, or an ISO 8601 time.")
@click.option("--until", help="Created before: as --since.")
@click.option("--finished-since", help="Finished since: as --since.")
@click.option("--finished-until", help="Finished before: as --since.")
@click.option("--input", "input_", metavar="JSON",
              help="JSON the run's input contains (jsonb @>), e.g. '[{\"customer\": \"c-42\"}]'.")
@click.option("--before", metavar="ID", help="The last run of the page before: the next page.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@json_option
@click.pass_obj
@_guard
def list_(obj: _Context, status: tuple[str, ...], queue: str | None, name: str | None,
          since: str | None, until: str | None, finished_since: str | None,
          finished_until: str | None, input_: str | None, before: str | None, limit: int,
          as_json: bool) -> None:
    """List workflow runs, newest first (durable.list_runs), a page at a time."""
    try:
        pattern = None if input_ is None else json.loads(input_)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--input") from exc
    found = runs.list_runs(obj.conn(), status=list(status) or None, queue=queue, name=name,
                           created_after=_since(since), created_before=_since(until),
                           finished_after=_since(finished_since),
                           finished_before=_since(finished_until), input=pattern,
                           before=before, limit=limit)
    rows = _readable([dataclasses.asdict(r) for r in found])
    click.echo(output.to_json(rows) if as_json else output.table(rows, RUN_COLUMNS))


main.add_command(list_, "runs")  # `durable runs`: the same command


@main.command()
@click.argument("workflow_id")
@json_option
@click.pass_obj
@_guard
def show(obj: _Context, workflow_id: str, as_json: bool) -> None:
    """Show one run and its steps as a timeline, with durations and errors."""
    conn = obj.conn()
    rows = _readable(db.runs(conn, workflow_id=workflow_id, limit=1))
    if not rows:
        db.result(conn, workflow_id)  # raises DU003 with the server's message
    run = rows[0]
    events = db.timeline(conn, workflow_id)
    for event in events:
        event["offset"] = event["at"] - run["created_at"]
    children = _readable(db.runs(conn, parent_id=workflow_id, limit=1000))
    if as_json:
        click.echo(output.to_json({"run": run, "timeline": events, "children": children}))
        return
    fields = ["id", "name", "queue", "status", "waiting_for", "waiting_since", "parent_id",
              "attempt", "max_attempts", "owner", "created_at", "run_at", "deadline",
              "started_at", "finished_at", "duration", "version", "lost_leases", "input",
              "output", "error"]
    for field in fields:
        if run.get(field) is not None:
            text = output.error_text(run[field]) if field == "error" else run[field]
            click.echo(f"{field + ':':<13} {output.cell(text, 200)}")
    click.echo("")
    for event in events:
        event["offset"] = output.offset(event["offset"])
        if event["is_error"]:
            event["kind"] = event["kind"].upper()
            event["detail"] = output.error_text(event["detail"])
    click.echo(output.table(events, TIMELINE_COLUMNS) if events else "(no steps recorded)")
    if children:
        click.echo("")
        click.echo(f"children ({len(children)}):")
        click.echo(output.table(children, CHILD_COLUMNS))


@main.command()
@click.argument("workflow_id")
@click.argument("message")
@click.option("--topic", default="default", show_default=True,
              help="The topic the workflow receives it on (durable.recv(topic)).")
@click.option("--key", "idempotency_key",
              help="Idempotency key: sending again with the same key sends nothing.")
@json_option
@click.pass_obj
@_guard
def send(obj: _Context, workflow_id: str, message: str, topic: str,
         idempotency_key: str | None, as_json: bool) -> None:
    """Send MESSAGE (JSON) to workflow WORKFLOW_ID (durable.send): it wakes the workflow when
    it waits in durable.recv on that topic."""
    try:
        value = json.loads(message)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="MESSAGE") from exc
    message_id = db.send(obj.conn(), workflow_id, value, topic, idempotency_key)
    click.echo(output.to_json({"workflow_id": workflow_id, "topic": topic,
                               "message_id": message_id}) if as_json
               else f"{workflow_id}: message {message_id} sent on topic {topic}")


# -- bulk operations (durable.cancel_where, retry_where, purge_where) and queues -------------------


def _bulk_options(action: str, statuses: list[str], column: str) -> Callable[..., Any]:
    """--queue --name --status --since --until --limit --yes of a bulk command."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed([
            click.option("--queue", help="Only this queue."),
            click.option("--name", help="Only workflows of this name."),
            click.option("--status", multiple=True, type=click.Choice(statuses),
                         help="Only these statuses (repeat it)."),
            click.option("--since", help=f"{column} since: 30m, 2h, 7d, or an ISO 8601 time."),
            click.option("--until", help=f"{column} before: 30m, 2h, 7d (that long ago), or an "
                         "ISO 8601 time."),
            click.option("--batch", "limit", default=1000, show_default=True,
                         type=click.IntRange(1, 10000), help="Workflows per transaction."),
            click.option("--yes", is_flag=True, help="Do not ask first."),
        ]):
            fn = option(fn)
        return fn
    return decorate


def _bulk_wanted(workflow_id: str | None, filters: dict[str, Any], takes_id: bool = True
                 ) -> bool:
    given = any(filters[k] for k in ("queue", "name", "status", "since", "until"))
    if workflow_id is not None and given:
        raise click.UsageError("give a workflow id or filters, not both")
    if workflow_id is None and not given:
        raise click.UsageError(("give a workflow id, or filters" if takes_id else
                                "give filters (it takes no workflow id)")
                               + " (--queue, --name, --status, --since, --until)")
    return given


def _ago(value: str | None) -> datetime | None:
    when = _since(value)
    return datetime.now(timezone.utc) - when if isinstance(when, timedelta) else when


def _bulk(action: str, obj: _Context, *, as_json: bool, queue: str | None, name: str | None,
          status: tuple[str, ...], since: str | None, until: str | None, limit: int,
          yes: bool) -> None:
    """Count what matches, ask, then call durable.<action>_where batch by batch."""
    filters = {"queue": queue, "name": name, "status": status or None,
               **bulk.time_filters(action, _ago(since), _ago(until))}
    conn = obj.conn()
    total = bulk.count(conn, action, **filters)
    past = {"cancel": "cancelled", "retry": "retried", "purge": "purged"}[action]
    if total and not yes and not click.confirm(f"{action} {_plural(total, 'workflow')}?", err=True):
        raise click.Abort()
    done = 0
    with click.progressbar(length=total, label=f"{action}: {_plural(total, 'workflow')}",
                           file=sys.stderr) as bar:
        for n in bulk.batches(conn, action, limit, **filters):
            done += n
            bar.update(n)
    click.echo(output.to_json({past: done, "matched": total}) if as_json
               else f"{_plural(done, 'workflow')} {past}")


@main.command()
@_bulk_options("purge", ["succeeded", "failed", "cancelled"], "Finished")
@json_option
@click.pass_obj
@_guard
def purge(obj: _Context, as_json: bool, **filters: Any) -> None:
    """Delete the finished workflows the filters match, with their steps, errors and messages,
    in batches (durable.purge_where; a workflow is kept while its parent or a child runs)."""
    _bulk_wanted(None, filters, takes_id=False)
    _bulk("purge", obj, as_json=as_json, **filters)


@main.group("queue")
def queue_group() -> None:
    """Create a queue, pause or resume it, set its limits (durable.set_queue)."""


def _limit_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--concurrency", type=click.IntRange(0),
                     help="Most running at once (0: no limit)."),
        click.option("--rate-limit", type=click.IntRange(0),
                     help="Most starts per --rate-period (0: no limit)."),
        click.option("--rate-period", type=click.FloatRange(min=0, min_open=True),
                     help="Seconds of the rate limit's window."),
        click.option("--key-concurrency", type=click.IntRange(0),
                     help="Most running per concurrency key (0: no limit)."),
    ]):
        fn = option(fn)
    return fn


@queue_group.command("create")
@click.argument("name")
@_limit_options
@click.option("--paused", is_flag=True, help="Create it paused.")
@click.pass_obj
@_guard
def queue_create(obj: _Context, name: str, paused: bool, **limits: Any) -> None:
    """Create queue NAME (or change the settings given of an existing one)."""
    bulk.set_queue(obj.conn(), name, paused=True if paused else None, **limits)
    click.echo(f"queue {name}: created" + (" (paused)" if paused else ""))


@queue_group.command("pause")
@click.argument("name")
@click.pass_obj
@_guard
def queue_pause(obj: _Context, name: str) -> None:
    """Pause queue NAME: claims skip it (running workflows go on)."""
    bulk.set_queue(obj.conn(), name, paused=True)
    click.echo(f"queue {name}: paused")


@queue_group.command("resume")
@click.argument("name")
@click.pass_obj
@_guard
def queue_resume(obj: _Context, name: str) -> None:
    """Resume queue NAME."""
    bulk.set_queue(obj.conn(), name, paused=False)
    click.echo(f"queue {name}: resumed")


@queue_group.command("limit")
@click.argument("name")
@_limit_options
@click.pass_obj
@_guard
def queue_limit(obj: _Context, name: str, **limits: Any) -> None:
    """Set limits of queue NAME (only those given change; 0 removes one)."""
    if all(v is None for v in limits.values()):
        raise click.UsageError("give --concurrency, --rate-limit (with --rate-period) or "
                               "--key-concurrency")
    bulk.set_queue(obj.conn(), name, **limits)
    click.echo(f"queue {name}: " + ", ".join(f"{k.replace('_', '-')} {v}"
                                               for k, v in limits.items() if v is not None))


@main.command()
@click.argument("workflow_id", required=False)
@_bulk_options("cancel", ["pending", "running", "waiting"], "Created")
@json_option
@click.pass_obj
@_guard
def cancel(obj: _Context, workflow_id: str | None, as_json: bool, **filters: Any) -> None:
    """Cancel a pending, running or waiting workflow (with its unfinished children), or every
    one the filters match, in batches (durable.cancel_where)."""
    if _bulk_wanted(workflow_id, filters):
        return _bulk("cancel", obj, as_json=as_json, **filters)
    status = db.cancel(obj.conn(), workflow_id)  # type: ignore[arg-type]  # not None here
    click.echo(output.to_json({"workflow_id": workflow_id, "status": status}) if as_json
               else f"{workflow_id}: {status}")


@main.command()
@click.argument("workflow_id", required=False)
@_bulk_options("retry", ["failed", "cancelled"], "Finished")
@json_option
@click.pass_obj
@_guard
def retry(obj: _Context, workflow_id: str | None, as_json: bool, **filters: Any) -> None:
    """Run a failed or cancelled workflow again (its successful steps are replayed), or every
    one the filters match (failed ones unless --status says), in batches
    (durable.retry_where)."""
    if _bulk_wanted(workflow_id, filters):
        return _bulk("retry", obj, as_json=as_json, **filters)
    status = db.retry(obj.conn(), workflow_id)  # type: ignore[arg-type]  # not None here
    click.echo(output.to_json({"workflow_id": workflow_id, "status": status}) if as_json
               else f"{workflow_id}: {status}")


@main.command()
@click.argument("workflow_id")
@click.argument("step", type=click.IntRange(0))
@click.option("--id", "new_id", help="The new workflow's id (default: generated).")
@click.option("--version", help="Pin the new run to this code version (default: the next "
              "claimer's).")
@json_option
@click.pass_obj
@_guard
def fork(obj: _Context, workflow_id: str, step: int, new_id: str | None, version: str | None,
         as_json: bool) -> None:
    """Start a new run of WORKFLOW_ID whose steps before position STEP are replayed from it
    (durable.fork); the original is left as it was."""
    conn = obj.conn()
    wid = db.fork(conn, workflow_id, step, new_id, version)
    # a position past the last recorded step copies them all (a fork of a failed or running
    # run from where it is): say how many were copied
    copied = conn.execute("select count(*) from durable.run_steps_meta where workflow_id = %s",
                          [wid]).fetchone()
    count = int(copied[0]) if copied else 0
    click.echo(output.to_json({"workflow_id": wid, "forked_from": workflow_id,
                               "forked_at": step, "copied_steps": count}) if as_json
               else f"{wid} (forked from {workflow_id} at step {step}, "
                    f"{_plural(count, 'step')} copied)")


@main.command()
@click.option("--since", default="30d", show_default=True,
              help="Errors since: 30m, 2h, 7d, or an ISO 8601 time.")
@click.option("--all", "all_", is_flag=True, help="Failed workflow attempts too, not only steps.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1))
@json_option
@click.pass_obj
@_guard
def errors(obj: _Context, since: str, all_: bool, limit: int, as_json: bool) -> None:
    """Failed step tries (the view durable.run_errors), newest first."""
    when = _since(since)
    if isinstance(when, datetime):
        when = datetime.now(when.tzinfo) - when
    rows = db.run_errors(obj.conn(), since=when, steps_only=not all_, limit=limit)
    if not as_json:
        for row in rows:
            row["error"] = output.error_text(row["error"])
    columns = ["created_at", "workflow_id", "workflow_name", "step_id", "step_name", "attempt",
               "error"]
    click.echo(output.to_json(rows) if as_json else output.table(rows, columns))


@main.command()
@json_option
@click.pass_obj
@_guard
def queues(obj: _Context, as_json: bool) -> None:
    """Queues, their settings and counts (the view durable.queue_stats)."""
    rows = db.queue_stats(obj.conn())
    columns = ["queue", "concurrency", "paused", "pending", "running", "waiting",
               "oldest_pending", "scheduled", "next_scheduled", "rate_limit", "next_start_at",
               "key_concurrency"]
    if not as_json:
        for row in rows:  # 10/1s: at most 10 starts in any window of a second
            if row["rate_limit"] is not None:
                row["rate_limit"] = f"{row['rate_limit']}/{output.duration(row['rate_period'])}"
    click.echo(output.to_json(rows) if as_json else output.table(rows, columns))


@main.command()
@json_option
@click.pass_obj
@_guard
def workers(obj: _Context, as_json: bool) -> None:
    """Workers, their heartbeats and how much each runs (the view durable.worker_status)."""
    rows = db.worker_status(obj.conn())
    columns = ["id", "alive", "running", "busy", "connections", "concurrency_limit",
               "heartbeat_at", "lease_timeout", "started_at"]
    click.echo(output.to_json(rows) if as_json else output.table(rows, columns))



# -- top: a live view of queues and workers (durable.queue_stats, durable.worker_status) ---------

TOP_QUEUE_COLUMNS = ["queue", "paused", "pending", "running", "waiting", "oldest_pending",
                     "scheduled", "concurrency", "rate_limit"]
TOP_WORKER_COLUMNS = ["id", "alive", "running", "busy", "heartbeat", "started_at"]


def _age(when: datetime | None, now: datetime) -> str:
    return "" if when is None else output.duration(max(now - when, timedelta(0)))


def _top_frame(conn: psycopg.Connection, interval: float) -> str:
    """One screen of `durable top`: totals, then a line per queue and per worker."""
    queues, workers_ = db.queue_stats(conn), db.worker_status(conn)
    now = datetime.now(timezone.utc)
    for row in queues:
        row["oldest_pending"] = _age(row["oldest_pending"], now)  # how long the oldest waits
        if row["rate_limit"] is not None:
            row["rate_limit"] = f"{row['rate_limit']}/{output.duration(row['rate_period'])}"
    dead_holding = 0
    for row in workers_:
        row["heartbeat"] = _age(row["heartbeat_at"], now) + " ago"
        if not row["alive"] and row["running"]:
            dead_holding += 1
            row["alive"] = "DEAD, holds work"
    total = {k: sum(r[k] or 0 for r in queues) for k in ("pending", "running", "waiting")}
    alive = sum(1 for r in workers_ if r["alive"] is True)
    title = f"durable top  {now.astimezone():%Y-%m-%d %H:%M:%S}  (every {interval:g}s; q quits)"
    counts = (f"queues {len(queues)}: {total['pending']} pending, {total['running']} running, "
              f"{total['waiting']} waiting   workers {len(workers_)}: {alive} alive")
    if dead_holding:
        counts += f", {dead_holding} dead holding work (the next claim reclaims it)"
    lines = [
        title,
        counts,
        "",
        output.table(queues, TOP_QUEUE_COLUMNS) if queues else "(no queues)",
        "",
        output.table(workers_, TOP_WORKER_COLUMNS) if workers_ else "(no workers)",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def _keypresses() -> Any:
    """A function wait(seconds) -> the key pressed meanwhile, or None. On a terminal, stdin is
    read a key at a time (cbreak mode: Ctrl-C still interrupts) and restored after; elsewhere
    it only sleeps."""
    stream = sys.stdin
    try:
        import termios
        import tty
        fd = stream.fileno()
        interactive = _interactive(stream)
    except (ImportError, AttributeError, OSError, ValueError):
        interactive = False
    if not interactive:
        yield lambda seconds: time.sleep(seconds)
        return
    import select
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        def wait(seconds: float) -> str | None:
            ready, _, _ = select.select([fd], [], [], seconds)
            return os.read(fd, 1).decode(errors="replace") if ready else None

        yield wait
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@main.command()
@click.option("--interval", "-i", default=2.0, show_default=True,
              type=click.FloatRange(min=0.1), help="Seconds between refreshes.")
@click.option("--iterations", "-n", type=click.IntRange(min=1),
              help="Stop after this many refreshes (default: until q or Ctrl-C).")
@click.pass_obj
@_guard
def top(obj: _Context, interval: float, iterations: int | None) -> None:
    """A live view of queues and workers: durable.queue_stats and durable.worker_status,
    refreshed every --interval seconds (two reads of the views per refresh); q or Ctrl-C
    quits. Not on a terminal, each refresh is printed after the last."""
    conn = obj.conn()
    live = _interactive(sys.stdout)
    shown = 0
    try:
        with _keypresses() as wait:
            while True:
                frame = _top_frame(conn, interval)
                if live:
                    click.clear()
                elif shown:
                    click.echo("")
                click.echo(frame)
                shown += 1
                if iterations is not None and shown >= iterations:
                    return
                key = wait(interval)
                if key is not None and key.lower() == "q":
                    return
    except KeyboardInterrupt:
        return


# -- schedules (schedules.py): durable.schedule_status, pause/resume/trigger/drop_schedule --------

@main.group("schedules")
def schedules_group() -> None:
    """Cron schedules: list them, pause, resume, trigger one now, remove."""


@schedules_group.command("list")
@json_option
@click.pass_obj
@_guard
def schedules_list(obj: _Context, as_json: bool) -> None:
    """Schedules, their next and last ticks (the view durable.schedule_status)."""
    rows = schedules.status(obj.conn())
    columns = ["name", "cron", "time_zone", "workflow_name", "enabled", "missed", "next_tick",
               "last_tick", "last_workflow_id", "last_status", "last_error"]
    click.echo(output.to_json(rows) if as_json else output.table(rows, columns))


def _schedule_command(action: str, doc: str) -> None:
    @schedules_group.command(action, help=doc)
    @click.argument("name")
    @json_option
    @click.pass_obj
    @_guard
    def command(obj: _Context, name: str, as_json: bool) -> None:
        result = getattr(schedules, action)(obj.conn(), name)
        click.echo(output.to_json({"name": name, action: result}) if as_json
                   else f"{name}: {_SCHEDULE_SAYS[action](result)}")


_SCHEDULE_SAYS: dict[str, Callable[[Any], str]] = {
    "pause": lambda result: str(result),                        # 'paused'
    "resume": lambda tick: f"resumed, next tick {output.cell(tick)}",
    "trigger": lambda wid: f"triggered, workflow {wid}",
    "drop": lambda existed: "dropped" if existed else "no such schedule",
}


_schedule_command("pause", "Pause schedule NAME: no tick runs until resume (durable.pause_schedule).")
_schedule_command("resume", "Resume schedule NAME from its next tick; prints that tick.")
_schedule_command("trigger", "Start schedule NAME's workflow now, once; prints its id.")
_schedule_command("drop", "Remove schedule NAME (its runs stay); prints whether it existed.")


# -- ui (durable/ui/, the extra durable[ui]): the web dashboard ----------------------------------

@main.command("ui")
@click.option("--dsn", "ui_dsn", help="DSN of the dashboard's login (default: the global --dsn, "
              "DATABASE_URL): a login granted durable_observer (payloads hidden) or "
              "durable_payload_reader, and durable_client for --allow-changes.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback exposes the dashboard to the "
                   "network without authentication.")
@click.option("--port", default=8188, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free one, printed).")
@click.option("--allow-changes", is_flag=True,
              help="Show cancel and retry buttons (each with a confirmation page); without it "
                   "the dashboard's sessions are read-only.")
@click.pass_obj
@_guard
def ui_command(obj: _Context, ui_dsn: str | None, host: str, port: int,
               allow_changes: bool) -> None:
    """Serve the web dashboard: runs, one run's timeline, queues, workers, errors."""
    try:
        from . import ui
    except ImportError as exc:
        raise click.ClickException(f"the dashboard needs the extra durable[ui] "
                                   f"(pip install 'durable[ui]'): {exc}") from exc
    app = ui.create_app(ui_dsn or obj.dsn, allow_changes=allow_changes, host=host)
    ui.serve(app, host=host, port=port, ready=lambda url: click.echo(
        f"durable ui on {url} ({'changes allowed' if allow_changes else 'read-only'});"
        " Ctrl-C stops it", err=False))


if __name__ == "__main__":  # pragma: no cover
    main()
