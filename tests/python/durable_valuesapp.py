"""The app the worker processes of test_values.py and test_exceptions.py run
(`durable worker durable_valuesapp:app`): workflows that pass values of every supported type
through arguments, step outputs, messages, events and child workflows, and steps and workflows
that raise exceptions. Steps write what the workflow saw to valuesapp.events through a
connection of their own (committed at once), with the worker's pid.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from decimal import Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import psycopg
import pydantic
from psycopg.types.json import Jsonb

import durable

app = durable.Durable(os.environ.get("DATABASE_URL"))
_local = threading.local()

SCHEMA = """
create schema if not exists valuesapp;
create table if not exists valuesapp.events (
  id bigint generated always as identity primary key,
  workflow_id text not null,
  phase text not null,
  pid integer not null,
  detail jsonb
);
"""


# -- value types ---------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    S = 1
    L = 3


@dataclasses.dataclass(frozen=True)
class Line:
    sku: str
    qty: int
    price: Decimal


@dataclasses.dataclass
class Order:
    id: uuid.UUID
    placed: datetime
    lines: list[Line]
    window: timedelta
    color: Color
    note: str | None = None


class Point(NamedTuple):
    x: int
    y: float


class Invoice(pydantic.BaseModel):
    number: int
    issued: datetime
    total: Decimal
    lines: list[str] = []


def sample() -> dict[str, Any]:
    """One value of each supported type, by name (the same in every process)."""
    placed = datetime(2026, 12, 3, 10, 0, 0, 123456, tzinfo=timezone.utc)
    return {
        "json": {"b": [1, 2.5, "x", None, True], "a": {"nested": []}},
        "datetime": placed,
        "datetime_naive": datetime(2026, 12, 3, 10, 0),
        "datetime_zone": datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
        "date": date(2026, 12, 3),
        "time": dtime(23, 59, 59, 999999),
        "timedelta": timedelta(days=-2, seconds=5, microseconds=7),
        "decimal": Decimal("12345678901234567890.000000001"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "bytes": bytes(range(256)),
        "bytearray": bytearray(b"\x00abc"),
        "tuple": (1, "two", (3.0, None)),
        "set": {"b", "a", 3},
        "frozenset": frozenset({1, 2}),
        "int_keys": {1: "one", (2, 3): "pair"},
        "dollar_keys": {"$type": "not a tag", "$args": [1], "plain": {"$ref": "#"}},
        "enum": Color.BLUE,
        "int_enum": Size.L,
        "dataclass": Order(uuid.UUID(int=7), placed, [Line("sku-1", 2, Decimal("9.99"))],
                           timedelta(hours=1), Color.RED),
        "namedtuple": Point(1, 2.5),
        "pydantic": Invoice(number=7, issued=placed, total=Decimal("19.98"), lines=["a"]),
        "mixed": [{"at": placed, "ids": (uuid.UUID(int=1),)}, Decimal("0.1")],
    }


def shape(value: Any) -> Any:
    """value's types, all the way down (sets and dicts in a fixed order): two values with the
    same shape and == are the same value."""
    kind = type(value).__qualname__
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return [kind, [shape(v) for v in value]]
    if isinstance(value, (set, frozenset)):
        return [kind, sorted(repr(shape(v)) + repr(v) for v in value)]
    if isinstance(value, dict):
        return [kind, sorted([repr(k), shape(v)] for k, v in value.items())]
    if dataclasses.is_dataclass(value):
        return [kind, [[f.name, shape(getattr(value, f.name))]
                       for f in dataclasses.fields(value)]]
    if isinstance(value, pydantic.BaseModel):
        return [kind, [[k, shape(getattr(value, k))] for k in type(value).model_fields]]
    if hasattr(value, "_fields"):
        return [kind, [shape(v) for v in value]]
    if isinstance(value, datetime):  # naive, a fixed offset, or a named zone
        zone = value.tzinfo.key if isinstance(value.tzinfo, ZoneInfo) else None
        return [kind, zone or str(value.utcoffset())]
    return kind


def canon(value: Any) -> str:
    """repr(value), with a set's items sorted (a set of str is ordered by hashes, which differ
    between processes)."""
    if isinstance(value, (set, frozenset)):
        return f"{type(value).__name__}({sorted(map(repr, value))})"
    return repr(value)


# -- side effects --------------------------------------------------------------------------------


def _side() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed or conn.broken:
        conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        _local.conn = conn
    return conn


def note(phase: str, detail: Any = None) -> None:
    """An event of the running workflow (from its code or a step), committed at once."""
    run = durable.execution.current_run()
    _side().execute("insert into valuesapp.events (workflow_id, phase, pid, detail)"
                    " values (%s, %s, %s, %s)",
                    [run.workflow_id, phase, os.getpid(), Jsonb(detail)])


def _go(workflow_id: str) -> bool:
    return bool(_side().execute("select 1 from valuesapp.events where workflow_id = %s"
                                " and phase = 'go'", [workflow_id]).fetchone())


# -- values --------------------------------------------------------------------------------------


@app.step()
def echo(value: Any) -> Any:
    """Returns the value it is given (its output is that value, encoded)."""
    return value


@app.step()
def make(name: str) -> Any:
    """Returns sample()[name], noting that it ran."""
    note("make ran")
    return sample()[name]


@app.step()
def gate() -> str:
    """Waits until the test writes the workflow's 'go' event (the test kills the worker here)."""
    note("gate")
    wid = durable.step_info().workflow_id
    while not _go(wid):
        time.sleep(0.02)
    return "went"


@app.workflow(name="values_mirror", max_attempts=1)
def values_mirror(value: Any) -> dict:
    """Its argument and a step's output of it, with their shapes as the workflow saw them."""
    out = echo(value)
    return {"arg": value, "arg_shape": shape(value), "step": out, "step_shape": shape(out),
            "equal": out == value}


@app.workflow(name="values_replay", max_attempts=1)
def values_replay(name: str) -> Any:
    """A step's output (sample()[name]), noted as the workflow sees it, then a gate (the test
    kills the worker there), then the output again: the replay must see the same."""
    value = make(name)
    note("seen", {"repr": canon(value), "shape": shape(value)})
    gate()
    return value


@app.workflow(name="values_child", max_attempts=1)
def values_child(value: Any) -> tuple:
    """Returns its input and its shape."""
    return value, shape(value)


@app.workflow(name="values_inbox", max_attempts=1)
def values_inbox(queue: str) -> dict:
    """Receives a message, publishes it as event "got", gives it to a child workflow and
    returns what the child returned (through its handle and through wait_all)."""
    message = durable.recv("t", timeout=120)
    durable.set_event("got", message)
    child = app.enqueue(values_child, message, queue=queue)
    listed = durable.wait_all([child])[0].output
    return {"message": message, "shape": shape(message), "child": child.result(),
            "listed": listed}


@app.workflow(name="values_relay", max_attempts=1)
def values_relay(destination: str, value: Any) -> dict:
    """Sends value to destination (durable.send), then waits for its event "got"."""
    durable.send(destination, value, topic="t")
    seen = durable.get_event(destination, "got", timeout=120)
    return {"seen": seen, "shape": shape(seen)}


@app.step(max_attempts=1)
def returns_a_function() -> Any:
    """Returns a value durable cannot store: the step's failed try."""
    return {"callback": print}


@app.workflow(name="values_refusals", max_attempts=1)
def values_refusals() -> dict:
    """durable.set_event and durable.send refuse what they cannot store at the call (no step);
    a step returning it fails."""
    refused = {}
    for what, call in (("set_event", lambda: durable.set_event("k", object())),
                       ("send", lambda: durable.send("nobody", {"x": float("nan")}))):
        try:
            call()
            refused[what] = None
        except durable.InvalidValue as exc:
            refused[what] = str(exc)
    try:
        returns_a_function()
        refused["step"] = None
    except durable.StepFailed as exc:
        refused["step"] = [type(exc).__name__, exc.error["type"], exc.error["message"]]
    durable.set_event("fine", [1])
    return refused


# -- exceptions ----------------------------------------------------------------------------------


class CardDeclined(Exception):
    """An exception whose __init__ takes other arguments than its args."""

    def __init__(self, code: str, amount: Decimal):
        super().__init__(f"card declined: {code}")
        self.code = code
        self.amount = amount


class OutOfStock(ValueError):
    """A plain exception class."""


def _classes() -> tuple[type, type]:
    class Unimportable(Exception):
        """Defined inside a function: not importable, not registered."""

    class Registered(Exception):
        """Defined inside a function, registered (app.register_exception)."""

    return Unimportable, Registered


Unimportable, Registered = _classes()
app.register_exception(Registered)


@app.step(max_attempts=1)
def charge(code: str) -> str:
    """Raises CardDeclined(code, 12.50); notes that it ran."""
    note("charge ran")
    raise CardDeclined(code, Decimal("12.50"))


@app.step(max_attempts=1)
def raises(kind: str) -> None:
    """Raises an exception of kind: key (KeyError), stock (OutOfStock), local (Unimportable),
    registered (Registered), nonretryable (durable.NonRetryable)."""
    exc = {"key": KeyError("k"), "stock": OutOfStock("sku-1"),
           "local": Unimportable("no import"), "registered": Registered("by registry"),
           "nonretryable": durable.NonRetryable("stop")}[kind]
    raise exc


def _caught(exc: BaseException) -> dict:
    return {"type": type(exc).__qualname__, "module": type(exc).__module__,
            "step_failed": isinstance(exc, durable.StepFailed),
            "step": getattr(exc, "step", None), "str": str(exc),
            "has_traceback": "in charge" in (getattr(exc, "durable_traceback", None) or ""),
            "noted": any("recorded traceback" in n for n in getattr(exc, "__notes__", []))}


@app.workflow(name="exc_catches", max_attempts=1)
def exc_catches(code: str) -> dict:
    """Catches the step's CardDeclined by its class, notes what it caught, waits at a gate (the
    test kills the worker there), and returns what it caught: a replay must catch the same."""
    try:
        charge(code)
        caught: dict = {}
    except CardDeclined as exc:
        caught = {**_caught(exc), "code": exc.code, "amount": str(exc.amount),
                  "is_card_declined": isinstance(exc, CardDeclined)}
    note("caught", caught)
    gate()
    return caught


@app.workflow(name="exc_kinds", max_attempts=1)
def exc_kinds(kinds: list) -> list:
    """For each kind, what `except Exception` caught of raises(kind)."""
    out = []
    for kind in kinds:
        try:
            raises(kind)
        except Exception as exc:  # noqa: BLE001 - what is caught is the output
            out.append({**_caught(exc), "error_type": getattr(exc, "error", {}).get("type")})
    return out


@app.workflow(name="exc_step_failed_still_catches", max_attempts=1)
def exc_step_failed_still_catches() -> dict:
    """Existing code that catches StepFailed still catches a step's exception."""
    try:
        charge("old-code")
    except durable.StepFailed as exc:
        return {"step": exc.step, "type": exc.error["type"], "class": type(exc).__qualname__}
    return {}


@app.workflow(name="exc_uncaught", max_attempts=1)
def exc_uncaught(code: str) -> None:
    """A step's CardDeclined, not caught: the workflow fails with it."""
    charge(code)


@app.workflow(name="exc_raises", max_attempts=1)
def exc_raises(kind: str) -> None:
    """The workflow's own code raises an exception of kind (see raises)."""
    raise {"stock": OutOfStock("sku-9"), "local": Unimportable("gone"),
           "registered": Registered("kept"), "key": KeyError("missing")}[kind]


@app.workflow(name="exc_parent", max_attempts=1)
def exc_parent(queue: str) -> dict:
    """Starts exc_raises("stock") as a child and catches its OutOfStock at handle.result()."""
    child = app.enqueue(exc_raises, "stock", queue=queue)
    try:
        child.result()
    except OutOfStock as exc:
        return {"type": type(exc).__qualname__, "str": str(exc),
                "workflow_failed": isinstance(exc, durable.WorkflowFailed),
                "workflow_id": exc.workflow_id == child.workflow_id}
    return {}
