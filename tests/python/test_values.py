"""Issue 12, item 2: values of Python types (datetime, Decimal, UUID, bytes, tuples, sets,
enums, dataclasses, named tuples, pydantic models) pass through workflow arguments, step
outputs (first run and replay after a SIGKILL), workflow outputs, messages, events and child
workflows, and come back as the same type and value; plain JSON is stored as it is; a value
that cannot be stored is refused at the call (InvalidValue). The workers run
durable_valuesapp:app; SIGKILLs are real."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import durable
import durable_valuesapp as va
from conftest import HERE, LEASE, WorkerProcess, wait_for
from durable import values
from durable.execution import encoded


class ValuesWorker(WorkerProcess):
    """A real `durable worker durable_valuesapp:app` process."""

    def __init__(self, dsn: str, queue: str, log: Path, *, concurrency: int = 4):
        self.dsn = dsn
        self.worker_id = f"test-values-{uuid.uuid4().hex[:8]}"
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in wait()/kill()
        env = dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "durable_valuesapp:app", "--path",
             str(HERE), "--queues", queue, "--concurrency", str(concurrency), "--lease-timeout",
             str(LEASE), "--poll-interval", "0.5", "--grace", "5", "--worker-id",
             self.worker_id],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=HERE,
        )
        self.pid = self.proc.pid


@pytest.fixture
def vapp(dsn: str) -> Iterator[durable.Durable]:
    """durable_valuesapp.app pointed at the test database (its side table made)."""
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(va.SCHEMA)
    va.app.dsn = dsn
    yield va.app
    va.app.close()


@pytest.fixture
def start_values_worker(dsn: str, conn: psycopg.Connection, tmp_path: Path
                        ) -> Iterator[Callable[..., ValuesWorker]]:
    """start_values_worker(queue): a ready worker process, SIGKILLed at the end."""
    started: list[ValuesWorker] = []

    def start(queue: str, **options: Any) -> ValuesWorker:
        worker = ValuesWorker(dsn, queue, tmp_path / f"values-worker-{len(started)}.log",
                              **options)
        started.append(worker)
        return worker.wait_ready(conn)

    yield start
    for worker in started:
        worker.kill()


def side_events(conn: psycopg.Connection, workflow_id: str, phase: str) -> list[Any]:
    """The details of the valuesapp.events of a workflow and phase, in order."""
    return [r[0] for r in conn.execute(
        "select detail from valuesapp.events where workflow_id = %s and phase = %s order by id",
        [workflow_id, phase]).fetchall()]


def go(conn: psycopg.Connection, workflow_id: str) -> None:
    """Let the workflow's gate step return."""
    conn.execute("insert into valuesapp.events (workflow_id, phase, pid) values (%s, 'go', 0)",
                 [workflow_id])


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down."""
    return a == b and va.shape(a) == va.shape(b)


SAMPLE_NAMES = list(va.sample())


# -- through real workers ------------------------------------------------------------------------


def test_each_type_round_trips_through_argument_step_output_and_result(
        vapp, queue, start_values_worker):
    """Every supported type, as a workflow argument, as a step's output and in the workflow's
    output read by handle.result(): the same value and types at each stage."""
    handles = {name: vapp.enqueue(va.values_mirror, value, queue=queue)
               for name, value in va.sample().items()}
    start_values_worker(queue)
    wrong = {}
    for name, handle in handles.items():
        value = va.sample()[name]
        out = handle.result(timeout=60)
        checks = {"arg": same(out["arg"], value), "step": same(out["step"], value),
                  "arg_shape": out["arg_shape"] == va.shape(value),
                  "step_shape": out["step_shape"] == va.shape(value), "equal": out["equal"]}
        if not all(checks.values()):
            wrong[name] = (checks, out, value)
    assert not wrong, wrong


def test_keyword_arguments_are_values_too(vapp, conn, queue, start_values_worker):
    """A keyword argument holding a dataclass: stored under "$kwargs" as its tag, given back to
    the workflow as the same value."""
    value = va.sample()["dataclass"]
    handle = vapp.enqueue(va.values_mirror, value=value, queue=queue)
    stored = conn.execute("select input from durable.workflows where id = %s",
                          [handle.workflow_id]).fetchone()[0]
    assert stored["$args"] == [] and stored["$kwargs"]["value"]["$type"] == "dataclass"
    start_values_worker(queue)
    out = handle.result(timeout=60)
    assert same(out["arg"], value) and same(out["step"], value)


@pytest.mark.parametrize("name", ["dataclass", "datetime_zone", "pydantic", "set"])
def test_a_step_output_is_the_same_value_and_type_on_replay_after_a_sigkill(
        vapp, conn, queue, start_values_worker, name):
    """The workflow sees a step's output on its first run as a replay decodes it from the
    database: after a SIGKILL, the new worker's replay sees the same repr (type and value) and
    the step does not run again."""
    handle = vapp.enqueue(va.values_replay, name, queue=queue)
    wid = handle.workflow_id
    first = start_values_worker(queue)
    wait_for(lambda: side_events(conn, wid, "gate"), what="the gate")
    first.signal(signal.SIGKILL)
    first.wait()
    start_values_worker(queue)
    seen = wait_for(lambda: (s := side_events(conn, wid, "seen")) and len(s) == 2 and s,
                    timeout=30, what="the replay")
    go(conn, wid)
    result = handle.result(timeout=30)
    assert seen[0] == seen[1]
    # as the codec gives it back (a pydantic model's fields as its own JSON gives them back)
    expected = values.decode(json.loads(json.dumps(values.encode(va.sample()[name]))))
    assert seen[0]["repr"] == va.canon(expected)
    assert seen[0]["shape"] == va.shape(expected)
    assert same(result, va.sample()[name])
    assert len(side_events(conn, wid, "make ran")) == 1


def test_messages_events_and_child_workflows_carry_values(vapp, conn, queue,
                                                          start_values_worker):
    """A value holding every type: sent by a workflow (durable.send) and by a client
    (app.send), received (durable.recv), published (durable.set_event) and read by a workflow
    (durable.get_event) and a client (app.get_event), given to a child workflow and read back
    from its handle and from wait_all: the same value and types everywhere."""
    value = va.sample()
    inbox = vapp.enqueue(va.values_inbox, queue, queue=queue)
    other = vapp.enqueue(va.values_inbox, queue, queue=queue)
    relay = vapp.enqueue(va.values_relay, inbox.workflow_id, value, queue=queue)
    start_values_worker(queue)
    vapp.send(other.workflow_id, value, topic="t")
    relayed = relay.result(timeout=60)
    assert same(relayed["seen"], value) and relayed["shape"] == va.shape(value)
    for handle in (inbox, other):
        out = handle.result(timeout=60)
        assert same(out["message"], value) and out["shape"] == va.shape(value)
        assert same(out["child"], (value, va.shape(value)))
        assert same(out["listed"], (value, va.shape(value)))
        assert same(vapp.get_event(handle.workflow_id, "got", timeout=5), value)


def test_plain_json_is_stored_as_it_is_and_tags_are_readable_json(vapp, conn, queue,
                                                                   start_values_worker):
    """A plain JSON value is stored exactly as itself (no tag) in the input, a step's output,
    the output, a message and an event; a tagged one is readable JSON from SQL."""
    plain = {"b": [1, 2.5, "x", None, True], "a": {"nested": [], "é": "ü"}}
    handle = vapp.enqueue(va.values_mirror, plain, queue=queue)
    inbox = vapp.enqueue(va.values_inbox, queue, queue=queue)
    tagged = vapp.enqueue(va.values_mirror, datetime(2026, 12, 3, 10, tzinfo=timezone.utc),
                          queue=queue)
    start_values_worker(queue)
    vapp.send(inbox.workflow_id, plain, topic="t")
    handle.result(timeout=60)
    inbox.result(timeout=60)
    text = json.dumps(plain)
    wid = handle.workflow_id
    assert conn.execute("select input = %s::jsonb from durable.workflows where id = %s",
                        [json.dumps([plain]), wid]).fetchone() == (True,)
    assert conn.execute("select output = %s::jsonb from durable.steps where workflow_id = %s",
                        [text, wid]).fetchone() == (True,)
    assert conn.execute("select output -> 'arg' = %s::jsonb, output -> 'step' = %s::jsonb"
                        " from durable.workflows where id = %s",
                        [text, text, wid]).fetchone() == (True, True)
    assert conn.execute("select message = %s::jsonb from durable.messages"
                        " where workflow_id = %s", [text, inbox.workflow_id]).fetchone() == (True,)
    assert conn.execute("select value = %s::jsonb from durable.events"
                        " where workflow_id = %s", [text, inbox.workflow_id]).fetchone() == (True,)
    assert conn.execute("select input -> 0 ->> '$type', input -> 0 ->> 'value'"
                        " from durable.workflows where id = %s",
                        [tagged.workflow_id]).fetchone() == ("datetime",
                                                             "2026-12-03T10:00:00+00:00")


def test_a_value_that_cannot_be_stored_is_refused_at_the_call(vapp, conn, queue,
                                                              start_values_worker):
    """enqueue, enqueue_many and send refuse a lambda, a plain object, NaN or a class that
    cannot be imported with InvalidValue naming where, writing nothing; in a workflow,
    durable.set_event and durable.send refuse before their step, and a step returning such a
    value is that step's failed try."""
    @dataclasses.dataclass
    class Local:
        x: int

    cases = [((lambda: 1,), r"function \(.*<lambda>\).* at \$\[0\]"),
             ((["ok", object()],), r"a value of type object .* at \$\[0\]\[1\]"),
             (({"a": [1, float("nan")]},), r"the float nan .* at \$\[0\]\.a\[1\]"),
             ((Decimal("NaN"),), r"Decimal NaN at \$\[0\]"),
             ((Local(1),), r"class test_values:test_a_value.*<locals>\.Local cannot be imported")]
    for args, pattern in cases:
        with pytest.raises(durable.InvalidValue, match=pattern):
            vapp.enqueue(va.values_mirror, *args, queue=queue)
    with pytest.raises(durable.InvalidValue, match=r"at \$\[0\]\.k"):
        vapp.enqueue_many(va.values_mirror, [[1], [{"k": {1, object()}}]], queue=queue)
    assert conn.execute("select count(*) from durable.workflows where queue = %s",
                        [queue]).fetchone() == (0,)

    inbox = vapp.enqueue(va.values_inbox, queue, queue=queue)
    with pytest.raises(durable.InvalidValue, match=r"the message cannot be stored.*at \$\.f"):
        vapp.send(inbox.workflow_id, {"f": print}, topic="t")
    assert conn.execute("select count(*) from durable.messages where workflow_id = %s",
                        [inbox.workflow_id]).fetchone() == (0,)

    refusals = vapp.enqueue(va.values_refusals, queue=queue)
    start_values_worker(queue)
    out = refusals.result(timeout=60)
    assert "the event's value cannot be stored: a value of type object" in out["set_event"]
    assert "the message cannot be stored: the float nan" in out["send"]
    assert out["step"][:2] == ["StepFailed", "durable.errors.InvalidValue"]
    assert "cannot be stored" in out["step"][2] and "$.callback" in out["step"][2]
    steps = conn.execute("select step_id, name from durable.steps where workflow_id = %s"
                         " order by step_id", [refusals.workflow_id]).fetchall()
    assert steps == [(0, "returns_a_function"), (1, "durable.set_event")]
    vapp.cancel(inbox.workflow_id)


# -- the codec -----------------------------------------------------------------------------------


def test_the_documented_tags():
    """The tags as the README documents them (another language reads and writes these)."""
    placed = datetime(2026, 12, 3, 10, tzinfo=timezone.utc)
    assert values.encode(placed) == {"$type": "datetime", "value": "2026-12-03T10:00:00+00:00"}
    assert values.encode(timedelta(hours=1, microseconds=250000)) == {
        "$type": "timedelta", "value": "3600.25"}
    assert values.encode(timedelta(microseconds=-1)) == {"$type": "timedelta",
                                                         "value": "-0.000001"}
    assert values.encode(Decimal("12.50")) == {"$type": "decimal", "value": "12.50"}
    assert values.encode(b"\x00\xff") == {"$type": "bytes", "value": "AP8="}
    assert values.encode((1, [2])) == {"$type": "tuple", "value": [1, [2]]}
    assert values.encode({"b", "a"}) == {"$type": "set", "value": ["a", "b"]}
    assert values.encode({1: "x"}) == {"$type": "dict", "value": [[1, "x"]]}
    assert values.encode({"$ref": 1}) == {"$type": "object", "value": {"$ref": 1}}
    assert values.encode(va.Color.RED) == {"$type": "enum", "class": "durable_valuesapp:Color",
                                           "value": "red"}
    assert values.encode(va.Line("s", 1, Decimal(2))) == {
        "$type": "dataclass", "class": "durable_valuesapp:Line",
        "value": {"sku": "s", "qty": 1, "price": {"$type": "decimal", "value": "2"}}}
    assert values.encode(va.Point(1, 2.0)) == {
        "$type": "namedtuple", "class": "durable_valuesapp:Point", "value": {"x": 1, "y": 2.0}}
    assert values.encode(va.Invoice(number=1, issued=placed, total=Decimal("1.5"))) == {
        "$type": "pydantic", "class": "durable_valuesapp:Invoice",
        "value": {"number": 1, "issued": "2026-12-03T10:00:00Z", "total": "1.5", "lines": []}}
    # written by another language: "Z" for UTC is read too
    assert values.decode({"$type": "datetime", "value": "2026-12-03T10:00:00Z"}) == placed


@pytest.mark.parametrize("value", [None, True, 0, 2**70, -1.5, "", "x", [], {},
                                   {"a": [1, {"b": None}], "c": "d"}])
def test_plain_json_encodes_to_itself(value):
    assert values.encode(value) is value
    assert values.decode(value) == value


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_each_sample_round_trips_through_json_text(name):
    value = va.sample()[name]
    back = values.decode(json.loads(json.dumps(values.encode(value))))
    assert same(back, value)


def test_decode_refuses_unknown_tags_and_classes_it_must_not_call():
    """An unknown tag, or a class that is not of the tag's kind (a function, a module
    attribute that is not a dataclass), is InvalidValue naming where; nothing is called."""
    with pytest.raises(durable.InvalidValue, match=r"unknown type tag 'money' .* at \$\[1\]"):
        values.decode([1, {"$type": "money", "value": "1"}])
    for name in ("os:system", "subprocess:Popen", "builtins:print", "no_such_module:X",
                 "os:path.join", "not a name"):
        with pytest.raises(durable.InvalidValue, match="not an importable or registered"):
            values.decode({"$type": "dataclass", "class": name, "value": {}})
    with pytest.raises(durable.InvalidValue, match=r"malformed 'uuid' tag .* at \$\.a"):
        values.decode({"a": {"$type": "uuid", "value": "nope"}})


def test_the_input_shapes():
    """Positional arguments are stored as an array (as before); keyword arguments as
    {"$args": [...], "$kwargs": {...}}."""
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert values.encode_input((1, "a")) == [1, "a"]
    stored = values.encode_input((when,), {"k": (1,)})
    assert stored == {"$args": [values.encode(when)],
                      "$kwargs": {"k": {"$type": "tuple", "value": [1]}}}
    assert values.decode_input(json.loads(json.dumps(stored))) == ([when], {"k": (1,)})
    assert values.decode_input(None) == ([], {})
    assert values.decode_input({"a": 1}) == ([{"a": 1}], {})
    assert values.decode_input(values.encode(when)) == ([when], {})
    assert values.decode_input({"$args": [1]}) == ([{"$args": [1]}], {})  # both keys, or none
    with pytest.raises(TypeError, match="needs an array"):
        values.decode_input({"$args": {}, "$kwargs": {}})
    with pytest.raises(durable.InvalidValue, match=r"at \$kwargs\.k"):
        values.encode_input((), {"k": object()})


def test_a_registered_class_is_stored_by_its_name():
    @dataclasses.dataclass
    class Moved:
        a: int

    values.register(Moved, "shop:Moved")
    try:
        assert values.encode(Moved(1)) == {"$type": "dataclass", "class": "shop:Moved",
                                           "value": {"a": 1}}
        assert values.decode({"$type": "dataclass", "class": "shop:Moved",
                              "value": {"a": 2}}) == Moved(2)
        with pytest.raises(ValueError, match="registered for another class"):
            values.register(va.Line, "shop:Moved")
    finally:
        values._by_name.pop("shop:Moved", None)
        values._by_class.pop(Moved, None)


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=8)
_scalars = (st.none() | st.booleans() | st.integers(-2**80, 2**80)
            | st.floats(-1e15, 1e15) | _text
            | st.datetimes(timezones=st.none() | st.just(timezone.utc)) | st.dates() | st.times()
            | st.timedeltas() | st.decimals(allow_nan=False) | st.uuids() | st.binary(max_size=8)
            | st.sampled_from(list(va.Color)))
_values = st.recursive(
    _scalars,
    lambda inner: (st.lists(inner, max_size=3) | st.tuples(inner, inner)
                   | st.frozensets(_text, max_size=3) | st.sets(st.integers(), max_size=3)
                   | st.dictionaries(_text | st.sampled_from(["$type", "$x", "value"]), inner,
                                     max_size=3)
                   | st.dictionaries(st.integers(-5, 5), inner, max_size=2)
                   | st.builds(va.Line, _text, st.integers(), st.decimals(allow_nan=False))),
    max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(_values)
@example(-0.0)  # jsonb stores it as 0.0 (found by this property on a CI pass)
@example([1.5, {"a": -0.0}])
def test_a_value_seen_on_the_first_run_is_what_a_replay_decodes_from_jsonb(conn, value):
    """Any value: what the workflow sees of a step's output on its first run (encoded, then
    decoded as jsonb gives it back) equals, in value, types and key order, what a replay
    decodes from the jsonb Postgres stored; and it equals the value given (floats of 1e16 and
    more, which come back as integers, are left to test_held_step)."""
    text, _, seen = encoded(value)
    stored = conn.execute("select %s::jsonb", [text]).fetchone()[0]
    replayed = values.decode_jsonb(stored)
    assert repr(seen) == repr(replayed)
    assert seen == value
