"""Bad input: every public SQL function of durable, called with random and malformed arguments.

Property (hypothesis, real Postgres, no mocks): each call either succeeds and changes only what
its contract says, or raises a DUxxx error that its `comment on function` documents, or a
standard Postgres error about the data (class 22), a constraint (23), a type the driver sent
(42804, 42883) or a limit (54); never an internal error, never a lost connection; and a call
that raised changed nothing (every row of workflows, steps, errors, workers, queues, settings,
workflow_types, waits, messages, events, queue_starts, worker_registrations and schedules is
compared before and after, by primary key and md5 of the row).

Each example starts from an emptied database and a baseline of its own: a queue, a worker that
holds a running workflow (with a valid lease, a stale one, two recorded steps and a failed try,
a pending and a cancelled child, a message to receive), another worker's running workflow (an
event set) and the running child of a workflow parked on it, workflows parked in recv and in
await_event, and pending, succeeded, failed, cancelled and expired (deadline passed)
workflows. The contracts of the waiting functions (issue 10): a wait that parks changed only its
run's row (waiting, lease released) and its durable.waits row; one that did not park recorded
one step (recv: and consumed the oldest message of its topic) or replayed the recorded one;
send adds one message or none (same idempotency key) and wakes a destination waiting on the
topic; start_child adds the child and its step, or finds the child; cancel reaches descendants
and wakes a waiting parent; claim and heartbeat cancel what passed its deadline. Issue 11:
start_children adds its children (parent set) and one step, or replays the step; the schedule
functions run on schedules of their own (due ones of each missed policy, a paused one, one not
due, one whose queue is gone): set_schedule adds or changes one schedule, pause, resume and drop
the one named, trigger starts one sched:<name>:trigger:... workflow, materialize_schedules adds
only workflows sched:<name>:<tick> of due schedules and changes only schedule rows; the
retention and bulk functions (with finished rows aged by days, retention settings drawn for
housekeep) delete, cancel or retry only rows matching their filter, at most p_limit, keep a
family while a member is unfinished, and write nothing on a dry run. The
arguments mix values from that baseline (so calls hit valid and stale leases, recorded steps,
finished workflows) with nulls, empty and odd unicode strings, SQL-looking strings, strings over
every length limit, huge (multi-MB) and deeply nested (10,000 and 100,000 levels) JSON, JSON that
jsonb refuses (\\u0000, lone surrogates, NaN), numbers past int4 and int8, out-of-range intervals
and timestamps, and arguments cast to a type the function does not take.

The defects these runs found have their own tests below, now regressions: each was fixed in the
SQL and its test says what was wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from faultkit import (
    EXAMPLES,
    SEED,
    WIPE_SQL,
    acceptable_sqlstate,
    connect,
    diff,
    documented_errors,
    snapshot,
)
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st
from psycopg import sql

from durable.sharding import shard_key

FAULTS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=SEED is None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example, HealthCheck.filter_too_much],
)

# DU codes a function raises that its comment does not list, each a known defect with its own
# xfail test; remove the entry when the comment or the code is fixed. (complete's DU010 for a
# null lease was one: now documented, see test_complete_documents_the_error_...)
KNOWN_UNDOCUMENTED: dict[str, set[str]] = {}


@pytest.fixture(scope="session")
def db(dsn):
    conn = connect(dsn)
    conn.documented = documented_errors(conn)
    yield conn
    conn.close()


# --- the baseline every example starts from --------------------------------------------------

@dataclass
class Base:
    u: str
    queue: str
    worker: str
    worker2: str
    ids: dict[str, str]      # role -> workflow id
    leases: dict[str, int]   # role -> lease (current or stale)

    @property
    def id_pool(self) -> list[str]:
        return [*self.ids.values(), f"{self.u}-missing"]

    @property
    def lease_pool(self) -> list[int]:
        return [*self.leases.values(), max(self.leases.values()) + 1000]


# Built server-side in one round trip (a DO block; the leases come back through a setting).
BASE_SQL = """
do $base$
declare
  q text := {q};
  w text := {w};
  w2 text := {w2};
  id jsonb := {ids};
  l jsonb := '{{}}';
begin
  perform durable.set_queue(q);
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'running');
  l := l || jsonb_build_object('stale',
         (select c.lease from durable.claim(w, array[q], 1, '10 minutes') c));
  perform durable.release(w, array[id->>'running']);
  l := l || jsonb_build_object('running',
         (select c.lease from durable.claim(w, array[q], 1, '10 minutes') c));
  perform durable.checkpoint(id->>'running', (l->>'running')::bigint, 0, 'a', '{{"o": 1}}');
  perform durable.checkpoint(id->>'running', (l->>'running')::bigint, 1, 'b', null,
                             '{{"e": 1}}');
  perform durable.step_failed(id->>'running', (l->>'running')::bigint, 2, 'c', '{{"e": 2}}', 3);
  -- two children of running (queue default), kid pending and kid_done cancelled, and a message
  -- waiting for it on topic default
  perform durable.start_child(id->>'running', (l->>'running')::bigint, 5, 'n', '{{"c": 1}}',
                              p_queue => 'default');
  perform durable.start_child(id->>'running', (l->>'running')::bigint, 6, 'n', '{{"c": 2}}',
                              p_queue => 'default');
  perform durable.cancel(id->>'kid_done');
  perform durable.send(id->>'running', '{{"m": 1}}');
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'other');
  l := l || jsonb_build_object('other',
         (select c.lease from durable.claim(w2, array[q], 1, '10 minutes') c));
  perform durable.set_event(id->>'other', (l->>'other')::bigint, 0, 'k', '{{"v": 1}}');
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'succeeded');
  l := l || jsonb_build_object('succeeded',
         (select c.lease from durable.claim(w, array[q], 1, '10 minutes') c));
  perform durable.complete(id->>'succeeded', (l->>'succeeded')::bigint, '{{"r": 1}}');
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'failed', p_max_attempts => 1);
  l := l || jsonb_build_object('failed',
         (select c.lease from durable.claim(w, array[q], 1, '10 minutes') c));
  perform durable.checkpoint(id->>'failed', (l->>'failed')::bigint, 0, 'x', null, '{{"e": 4}}');
  perform durable.fail(id->>'failed', (l->>'failed')::bigint, '{{"e": 3}}');
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'cancelled');
  perform durable.cancel(id->>'cancelled');
  -- waiting: parked until its child wkid (which w2 runs) finishes
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'waiting');
  l := l || jsonb_build_object('waiting',
         (select c.lease from durable.claim(w, array[q], 1, '10 minutes') c));
  perform durable.start_child(id->>'waiting', (l->>'waiting')::bigint, 0, 'n', '{{"c": 3}}',
                              p_queue => 'default', p_priority => 1);
  perform durable.await_children(id->>'waiting', (l->>'waiting')::bigint, 1,
                                 array[id->>'wkid']);
  l := l || jsonb_build_object('wkid',
         (select c.lease from durable.claim(w2, array['default'], 1, '10 minutes') c));
  -- inbox: parked in recv (topic default); awaiter: parked until running sets event k
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'inbox');
  l := l || jsonb_build_object('inbox',
         (select c.lease from durable.claim(w, array[q], 1, '10 minutes') c));
  perform durable.recv(id->>'inbox', (l->>'inbox')::bigint, 0);
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'awaiter');
  l := l || jsonb_build_object('awaiter',
         (select c.lease from durable.claim(w, array[q], 1, '10 minutes') c));
  perform durable.await_event(id->>'awaiter', (l->>'awaiter')::bigint, 0, id->>'running', 'k');
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'pending');
  -- expired: its deadline passed; the next claim or heartbeat cancels it
  perform durable.enqueue('n', '{{"k": 1}}', q, id->>'expired', p_run_at => '2000-01-01',
                          p_timeout => '1 second');
  perform set_config('durable_faults.leases', l::text, false);
end
$base$;
select current_setting('durable_faults.leases')
"""

ROLES = ("running", "other", "succeeded", "failed", "cancelled", "waiting", "inbox", "awaiter",
         "pending", "expired")


def build_base(c: psycopg.Connection) -> Base:
    """Empty the database, then: queue q; worker w holding workflow running (a stale lease from
    its first claim, step 0 recorded, step 1 recorded as an error, one failed try of step 2,
    children kid (pending, step 5) and kid_done (cancelled, step 6), an unconsumed message on
    topic default); worker w2 holding workflow other (event k set at step 0) and wkid, the child
    of workflow waiting, which is parked on it (await_children); inbox parked in recv, awaiter
    parked until running sets event k; succeeded, failed (with an error step), cancelled,
    pending and expired (deadline passed, not yet cancelled) workflows."""
    u = secrets.token_hex(5)
    q, w, w2 = f"fq-{u}", f"fw-{u}", f"fv-{u}"
    ids = {k: f"{u}-{k}" for k in ROLES}
    # start_child's default ids: <parent>-<step>
    ids |= {"kid": f"{ids['running']}-5", "kid_done": f"{ids['running']}-6",
            "wkid": f"{ids['waiting']}-0"}

    def literal(x):
        return sql.Literal(x).as_string(c)

    script = BASE_SQL.format(q=literal(q), w=literal(w), w2=literal(w2),
                             ids=literal(json.dumps(ids)) + "::jsonb")
    cur = c.execute(WIPE_SQL + ";" + script)
    while cur.nextset():  # one result per statement: the leases are in the last one
        pass
    leases = json.loads(cur.fetchone()[0])
    return Base(u, q, w, w2, ids, leases)


# --- argument strategies ---------------------------------------------------------------------

ODD_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=24,
)
SQLISH = st.sampled_from([
    "'); drop table durable.workflows; --",
    "x'); delete from durable.steps; --",
    "' or '1'='1",
    "default'; truncate durable.queues cascade; --",
    "%s", "$1", "\\", '"', "${durable}", "\\x00", "null", "NULL", "default",
])
LONG_TEXT = st.one_of(
    st.sampled_from([201, 1000, 100_000]).map(lambda n: "x" * n),
    st.sampled_from([101, 201, 5000]).map(lambda n: "é" * n),
    st.just("\U0001f986" * 201),
)


def text_from(pool: list) -> st.SearchStrategy:
    """Mostly values the baseline knows, then nulls, empty, odd, SQL-looking and long strings."""
    known = st.sampled_from(pool)
    return st.one_of(known, known, known, st.none(), st.just(""), ODD_TEXT, SQLISH, LONG_TEXT)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=4),
    max_leaves=12,
).map(json.dumps)  # json.dumps writes NaN and Infinity, which jsonb refuses: on purpose

SPECIAL_JSON = [
    "null", "{}", "[]", '""', "0", "true",
    "[" * 1000 + "]" * 1000,
    "[" * 10_000 + "]" * 10_000,
    "[" * 100_000 + "]" * 100_000,
    '{"a": ' * 10_000 + "1" + "}" * 10_000,
    '"' + "x" * 1_000 + '"',
    '"' + "x" * 1_100_000 + '"',
    '{"blob": "' + "y" * 3_000_000 + '"}',
    "[" + ",".join(["1"] * 200_000) + "]",
    '"a\\u0000b"', '{"\\u0000": 1}', '"\\ud800"', '"\\udfff\\ud800"',
    json.dumps("\u202e\ufeff\u0301\U0001f986\uffff", ensure_ascii=False),
    json.dumps("'); drop table durable.workflows; --"),
    "1e1000000", "-1e-1000000", "1" + "0" * 1000,
    "{", "{'a': 1}", "NaN", "", " ", "01", "[1,]", "true false",
]
JSON_ARG = st.one_of(st.none(), JSON_VALUES, JSON_VALUES, st.sampled_from(SPECIAL_JSON))

INTS = [0, -1, 1, 2, 3, 199, 200, 1000, 1001, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1,
        2**63 - 1, 2**63, -(2**63) - 1, 10**30]
INT_ARG = st.one_of(
    st.none(),
    st.sampled_from(INTS).map(str),
    st.integers(-5, 1005).map(str),
    st.sampled_from(["abc", "1.5", "", "1e3", " 7 ", "0x10"]),
)
INTERVAL_ARG = st.one_of(
    st.none(),
    st.sampled_from([
        "0", "1 second", "-1 second", "1 microsecond", "1 minute", "1 hour", "30 days",
        "100 years", "1000000 years", "100000000 years", "-100000000 years", "178000000 years",
        "abc", "", "1 day 2 hours", "@ 1 minute ago", "P1D", "infinity",
        "1 second'); drop table durable.workflows; --",
    ]),
    st.integers(-10**9, 10**9).map(lambda n: f"{n} seconds"),
)
TIMESTAMP_ARG = st.one_of(
    st.none(),
    st.sampled_from([
        "infinity", "-infinity", "2000-01-01", "294277-01-01", "4714-11-24 00:00:00+00 BC",
        "4714-11-23 00:00:00+00 BC", "garbage", "now", "epoch", "tomorrow", "2026-02-30", "",
    ]),
    st.datetimes().map(lambda d: d.isoformat() + "+00"),
)
BOOL_ARG = st.one_of(st.none(), st.sampled_from(["true", "false", "maybe", "yes", "1", ""]))

# casts of a type the function does not take (the driver would send these types too)
WRONG_CASTS = {
    "text": ["integer", "jsonb", "boolean"],
    "jsonb": ["text", "json", "integer"],
    "integer": ["bigint", "numeric", "text", "smallint", "real"],
    "bigint": ["numeric", "text", "integer", "double precision"],
    "interval": ["text", "integer", "time"],
    "timestamptz": ["text", "timestamp", "date", "integer"],
    "boolean": ["text", "integer"],
    "text[]": ["varchar[]", "jsonb[]", "integer[]"],
    "bigint[]": ["integer[]", "numeric[]", "text[]"],
    "jsonb[]": ["json[]", "text[]"],
    "boolean[]": ["text[]", "integer[]"],
}


@dataclass
class Arg:
    name: str
    sqltype: str
    value: object  # str, None, or a list of str/None for arrays
    cast: str

    def sql(self) -> tuple[str, list]:
        if self.cast.endswith("[]") and isinstance(self.value, list):
            elem = self.cast[:-2]
            if not self.value:
                return f"{self.name} => '{{}}'::{self.cast}", []
            inner = ", ".join(f"%s::{elem}" for _ in self.value)
            return f"{self.name} => array[{inner}]::{self.cast}", list(self.value)
        return f"{self.name} => %s::{self.cast}", [self.value]


@dataclass
class Param:
    """A parameter of a durable function: values it should take, and anything at all."""

    name: str
    sqltype: str
    valid: st.SearchStrategy
    wild: st.SearchStrategy
    required: bool = True


def draw_args(data, params: list[Param]) -> list[Arg]:
    """Half the calls are well formed but for at most one argument, so that they get past the
    first check and reach the writes (valid and stale leases, recorded steps, finished
    workflows); the other half may be malformed anywhere: any value, a parameter left out,
    a cast to a type the function does not take."""
    # how often: a random.Random seeded from the example (hypothesis biases its own draws to
    # edge values, which would make every rare branch frequent)
    chance = data.draw(st.randoms(use_true_random=True), label="chance")
    careful = chance.random() < 0.5
    bad = (chance.randrange(len(params)) if chance.random() < 0.6 else -1) if careful else None
    args = []
    for i, p in enumerate(params):
        if careful and i != bad:
            if not p.required and chance.random() < 0.3:
                continue  # the default applies
            args.append(Arg(p.name, p.sqltype, data.draw(p.valid, label=p.name), p.sqltype))
            continue
        if chance.random() < (0.03 if p.required else 0.2):
            continue
        value = data.draw(st.one_of(p.valid, p.wild), label=p.name)
        cast = p.sqltype
        if chance.random() < (0.2 if careful else 0.03):
            cast = chance.choice(WRONG_CASTS[p.sqltype])
        args.append(Arg(p.name, p.sqltype, value, cast))
    return args


def array_of(values: st.SearchStrategy, max_size: int = 4) -> st.SearchStrategy:
    return st.one_of(st.none(), st.lists(values, max_size=max_size))


CLEAN_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=8,
)
VALID_JSON = st.one_of(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                               allow_infinity=False)
        | CLEAN_TEXT,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(CLEAN_TEXT, inner,
                                                                     max_size=3),
        max_leaves=8,
    ).map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.sampled_from(["null", "{}", "[" * 10_000 + "]" * 10_000, '"' + "x" * 1_000 + '"',
                     json.dumps("'); drop table durable.workflows; --")]),
)
# an error a worker would report: any JSON but null (JSON null is a defect of its own, see
# test_a_step_recorded_with_an_error_replays_as_an_error; the wild values include it)
VALID_ERROR = VALID_JSON.map(lambda j: '{"message": "null"}' if j == "null" else j)
VALID_INTERVAL = st.sampled_from(["1 second", "1 minute", "10 minutes", "1 hour", "1 day"])
VALID_TIMESTAMP = st.one_of(st.none(), st.sampled_from(["now", "2000-01-01", "-infinity"]))
VALID_BOOL = st.one_of(st.none(), st.sampled_from(["true", "false"]))


def small(lo: int, hi: int) -> st.SearchStrategy:
    return st.integers(lo, hi).map(str)


def draw_enqueue_batch(data, base: Base, careful: bool, chance):
    """(JSON text of the batch or None, the number of items when it is an array of objects)."""
    if not careful:
        kind = chance.randrange(5)
        if kind == 0:
            return data.draw(st.one_of(st.none(), st.sampled_from(SPECIAL_JSON)),
                             label="raw"), None
        if kind == 1:
            return data.draw(st.sampled_from([
                "{}", "1", "null", '"x"', "[1]", "[null]", "[[]]", '[{"name": "n", "nope": 1}]',
                '[{"name": "n"}, 7]', "[" + ",".join(['{"name": "n"}'] * 3000) + "]",
            ]), label="shape"), None
    ids = st.sampled_from([*base.ids.values(), f"{base.u}-new-1", f"{base.u}-new-2"])
    valid = {
        "name": st.sampled_from(["n", "other-name"]).map(json.dumps),
        "input": VALID_JSON,
        "queue": st.sampled_from([base.queue, "default"]).map(json.dumps),
        "workflow_id": ids.map(json.dumps),
        "priority": small(-5, 5),
        "run_at": st.sampled_from(["now", "2000-01-01"]).map(json.dumps),
        "delay": VALID_INTERVAL.map(json.dumps),
        "max_attempts": small(1, 5),
        "backoff_base": st.just('"1 second"'),
        "backoff_max": st.just('"1 hour"'),
        "timeout": VALID_INTERVAL.map(json.dumps),
    }
    wild = {
        "name": st.one_of(text_from(["n", "other-name"]).map(json.dumps), JSON_VALUES),
        "input": st.one_of(JSON_VALUES, st.sampled_from(SPECIAL_JSON)),
        "queue": st.one_of(text_from([base.queue, "default", f"fq-{base.u}-missing"])
                           .map(json.dumps), JSON_VALUES),
        "workflow_id": st.one_of(text_from(base.id_pool).map(json.dumps), JSON_VALUES),
        "priority": st.one_of(st.sampled_from(INTS).map(str), JSON_VALUES),
        "run_at": st.one_of(TIMESTAMP_ARG.map(json.dumps), JSON_VALUES),
        "delay": st.one_of(INTERVAL_ARG.map(json.dumps), JSON_VALUES),
        "max_attempts": st.one_of(st.sampled_from(INTS).map(str), JSON_VALUES),
        "backoff_base": INTERVAL_ARG.map(json.dumps),
        "backoff_max": INTERVAL_ARG.map(json.dumps),
        "timeout": st.one_of(INTERVAL_ARG.map(json.dumps), JSON_VALUES),
    }
    n = chance.randrange(5)
    bad_item = chance.randrange(-1, n) if careful else None
    items = []
    for i in range(n):
        present = data.draw(st.lists(st.sampled_from(sorted(valid)), unique=True, max_size=4),
                            label="keys")
        if "name" not in present and (careful or chance.random() < 0.8):
            present.append("name")
        if careful and "run_at" in present and "delay" in present:
            present.remove("delay")
        pick = wild if (not careful or i == bad_item) else valid
        parts = [f'"{k}": {data.draw(pick[k], label=k)}' for k in present]
        items.append("{" + ", ".join(parts) + "}")
    return "[" + ", ".join(items) + "]", n


# the worker-side functions of waiting (issue 10): fenced by a lease, a step at a position
WORKER_SIDE = ("sleep", "recv", "await_event", "await_children", "send_step", "set_event",
               "start_child")
WAITS = {"sleep": "sleep", "recv": "message", "await_event": "event",
         "await_children": "children"}
DEFAULT_NAMES = {"sleep": "durable.sleep", "recv": "durable.recv",
                 "await_event": "durable.get_event", "await_children": "durable.await_children",
                 "send_step": "durable.send", "set_event": "durable.set_event",
                 "start_child": "durable.start_child"}
TOPICS = st.sampled_from(["default", "default", "t2"])


def destinations(base) -> st.SearchStrategy:
    """Mostly inbox (parked in recv on topic default) and running, then the others."""
    return st.sampled_from([base.ids[r] for r in ("inbox", "inbox", "running", "other",
                                                  "waiting", "succeeded", "cancelled")])

KEYS = st.sampled_from(["k", "k", "k2"])
# null (forever), 0 (due at once), and timeouts that have not passed yet
WAIT_TIMEOUT = st.one_of(st.none(), st.sampled_from(["0", "0", "1 second", "1 hour"]))

LEASE_PAIRS = [
    *[("running", "running")] * 6,
    ("other", "other"), ("running", "stale"), ("running", "other"), ("succeeded", "succeeded"),
    ("failed", "failed"), ("cancelled", "running"), ("pending", "running"),
    # a child its worker runs (finishing it may wake its parent), a parked run's old lease
    ("wkid", "wkid"), ("wkid", "wkid"), ("waiting", "waiting"), ("expired", "running"),
]


def draw_call(data, base: Base, fn: str) -> tuple[list[Arg], dict]:
    """The arguments of one call of durable.<fn>, and facts the contract check needs."""
    ids_v = st.sampled_from(list(base.ids.values()))
    ids = text_from(base.id_pool)
    leases_v = st.sampled_from([str(x) for x in base.lease_pool])
    leases = st.one_of(leases_v, INT_ARG)
    workers_v = st.sampled_from([base.worker, base.worker2, f"fx-{base.u}"])
    workers = text_from([base.worker, base.worker2, f"fx-{base.u}"])
    queues_v = st.sampled_from([base.queue, "default"])
    queues = text_from([base.queue, "default", f"fq-{base.u}-missing"])
    step_ids_v = st.sampled_from(["0", "1", "2", "3", "4"])
    step_ids = st.one_of(step_ids_v, INT_ARG)
    step_names_v = st.sampled_from(["a", "b", "c", "d"])
    step_names = text_from(["a", "b", "c", "d"])
    extra = {}
    # (workflow, lease) pairs for the fenced functions: mostly the current lease of a running
    # workflow, then stale leases, another worker's lease, leases of finished workflows
    pair = st.sampled_from(LEASE_PAIRS).map(
        lambda p: (base.ids[p[0]], str(base.leases[p[1]])))
    # the waits and steps of waiting have many arguments: more of their calls hold the
    # running workflow's lease, so that enough of them get past the fence
    worker_pair = st.one_of(st.just((base.ids["running"], str(base.leases["running"]))), pair)
    id_lease = data.draw(worker_pair if fn in (*WORKER_SIDE, "start_children") else pair,
                         label="workflow and lease")
    own_id, own_lease = ids_v, leases_v
    ids_v = st.one_of(*[st.just(id_lease[0])] * 3, ids_v)
    leases_v = st.one_of(*[st.just(id_lease[1])] * 3, leases_v)

    def P(name, sqltype, valid, wild, required=True):
        return Param(name, sqltype, valid, wild, required)

    if fn == "enqueue":
        params = [
            P("p_name", "text", st.sampled_from(["n", "other-name"]),
              text_from(["n", "other-name"])),
            P("p_input", "jsonb", VALID_JSON, JSON_ARG, False),
            P("p_queue", "text", queues_v, queues, False),
            P("p_workflow_id", "text",
              st.sampled_from([*base.ids.values(), f"{base.u}-new"]), ids, False),
            P("p_priority", "integer", small(-5, 5), INT_ARG, False),
            P("p_run_at", "timestamptz", st.one_of(st.none(), VALID_TIMESTAMP), TIMESTAMP_ARG,
              False),
            P("p_delay", "interval", st.one_of(st.none(), st.none(), VALID_INTERVAL),
              INTERVAL_ARG, False),
            P("p_max_attempts", "integer", small(1, 5), INT_ARG, False),
            P("p_backoff_base", "interval", st.just("1 second"), INTERVAL_ARG, False),
            P("p_backoff_max", "interval", st.just("1 hour"), INTERVAL_ARG, False),
            P("p_timeout", "interval", st.one_of(st.none(), VALID_INTERVAL), INTERVAL_ARG,
              False),
        ]
    elif fn == "enqueue_batch":
        chance = data.draw(st.randoms(use_true_random=True), label="chance")
        careful = chance.random() < 0.5
        batch, extra["n_items"] = draw_enqueue_batch(data, base, careful, chance)
        cast = "text" if not careful and chance.random() < 0.1 else "jsonb"
        return [Arg("p_workflows", "jsonb", batch, cast)], extra
    elif fn == "claim":
        params = [
            P("p_worker", "text", workers_v, workers),
            P("p_queues", "text[]", st.lists(queues_v, min_size=1, max_size=2),
              array_of(queues), False),
            P("p_max", "integer", small(1, 5), INT_ARG, False),
            P("p_lease_timeout", "interval", st.one_of(st.none(), VALID_INTERVAL),
              INTERVAL_ARG, False),
        ]
    elif fn in ("checkpoint", "step_failed"):
        params = [
            P("p_workflow_id", "text", ids_v, ids),
            P("p_lease", "bigint", leases_v, leases),
            P("p_step_id", "integer", step_ids_v, step_ids),
            P("p_name", "text", step_names_v, step_names),
        ]
        if fn == "checkpoint":
            params += [
                P("p_output", "jsonb", VALID_JSON, JSON_ARG, False),
                P("p_error", "jsonb", st.one_of(st.none(), st.none(), VALID_JSON),
                  JSON_ARG, False),
            ]
        else:
            params += [
                P("p_error", "jsonb", VALID_ERROR, JSON_ARG),
                P("p_max_attempts", "integer", small(1, 4), INT_ARG, False),
                P("p_backoff_base", "interval", st.just("1 second"), INTERVAL_ARG, False),
                P("p_backoff_max", "interval", st.just("1 hour"), INTERVAL_ARG, False),
            ]
        params.append(P("p_started_at", "timestamptz", VALID_TIMESTAMP, TIMESTAMP_ARG, False))
    elif fn == "complete":
        params = [P("p_workflow_id", "text", ids_v, ids),
                  P("p_lease", "bigint", leases_v, leases),
                  P("p_output", "jsonb", VALID_JSON, JSON_ARG, False)]
    elif fn == "complete_and_claim":
        params = [P("p_workflow_id", "text", ids_v, ids),
                  P("p_lease", "bigint", leases_v, leases),
                  P("p_output", "jsonb", VALID_JSON, JSON_ARG),
                  P("p_worker", "text", workers_v, workers),
                  P("p_queues", "text[]", st.lists(queues_v, min_size=1, max_size=2),
                    array_of(queues), False),
                  P("p_max", "integer", small(0, 3), INT_ARG, False),
                  P("p_lease_timeout", "interval", st.one_of(st.none(), VALID_INTERVAL),
                    INTERVAL_ARG, False),
                  P("p_step_id", "integer", step_ids_v, step_ids, False),
                  P("p_step_name", "text", step_names_v, step_names, False),
                  P("p_step_output", "jsonb", VALID_JSON, JSON_ARG, False),
                  P("p_step_started_at", "timestamptz", VALID_TIMESTAMP, TIMESTAMP_ARG, False)]
    elif fn == "fail":
        params = [P("p_workflow_id", "text", ids_v, ids),
                  P("p_lease", "bigint", leases_v, leases),
                  P("p_error", "jsonb", VALID_ERROR, JSON_ARG),
                  P("p_retryable", "boolean", VALID_BOOL, BOOL_ARG, False)]
    elif fn in ("complete_batch", "fail_batch"):
        pairs = data.draw(st.lists(pair, max_size=4, unique_by=lambda p: p[0]), label="items")
        n = len(pairs)
        wild_pairs = st.lists(st.tuples(ids, leases), max_size=4)
        params = [
            P("p_workflow_ids", "text[]", st.just([p[0] for p in pairs]),
              st.one_of(st.none(), wild_pairs.map(lambda ps: [p[0] for p in ps]))),
            P("p_leases", "bigint[]", st.just([p[1] for p in pairs]),
              st.one_of(st.none(), wild_pairs.map(lambda ps: [p[1] for p in ps]))),
            P("p_outputs" if fn == "complete_batch" else "p_errors", "jsonb[]",
              st.lists(VALID_ERROR, min_size=n, max_size=n),
              st.one_of(st.none(), st.lists(JSON_ARG, max_size=5))),
        ]
        if fn == "fail_batch":
            params.append(P("p_retryable", "boolean[]",
                            st.one_of(st.none(), st.lists(VALID_BOOL, min_size=n, max_size=n)),
                            array_of(BOOL_ARG), False))
    elif fn == "heartbeat":
        params = [P("p_worker", "text", workers_v, workers),
                  P("p_lease_timeout", "interval", st.one_of(st.none(), VALID_INTERVAL),
                    INTERVAL_ARG, False),
                  P("p_busy", "integer", st.one_of(st.none(), small(0, 4)), INT_ARG, False)]
    elif fn == "release":
        params = [P("p_worker", "text", workers_v, workers),
                  P("p_workflow_ids", "text[]", array_of(ids_v), array_of(ids), False)]
    elif fn == "register":
        item = st.fixed_dictionaries(
            {"name": st.sampled_from(["n", "other-name"])},
            optional={"queue": st.sampled_from([base.queue, "default"]),
                      "max_attempts": st.integers(1, 5), "max_lost_leases": st.integers(1, 5),
                      "timeout": st.sampled_from([1, 3600, "1 hour"])})
        params = [P("p_worker", "text", workers_v, workers),
                  P("p_workflows", "jsonb", st.lists(item, max_size=3).map(json.dumps), JSON_ARG,
                    False),
                  P("p_version", "text", st.one_of(st.none(), st.sampled_from(["v1", "v2"])),
                    text_from(["v1", ""]), False),
                  P("p_lease_timeout", "interval", st.one_of(st.none(), VALID_INTERVAL),
                    INTERVAL_ARG, False)]
    elif fn in ("cancel", "retry", "result"):
        params = [P("p_workflow_id", "text", st.sampled_from(list(base.ids.values())), ids)]
    elif fn == "set_queue":
        params = [P("p_name", "text", st.sampled_from([base.queue, "default", f"fq-{base.u}-2"]),
                    queues),
                  P("p_concurrency", "integer", st.one_of(st.none(), small(0, 5)), INT_ARG,
                    False),
                  P("p_paused", "boolean", VALID_BOOL, BOOL_ARG, False)]
    elif fn == "purge":
        params = [P("p_older_than", "interval", st.sampled_from(["0", "1 second", "1 day"]),
                    INTERVAL_ARG)]
    elif fn in WORKER_SIDE:
        # steps 0-2, 5 and 6 of running are recorded (5 and 6 started its children), 3, 4 and 7
        # are free; a wait's name may be a recorded step's (replay or DU005)
        positions = st.sampled_from(["3", "4", "7", "3", "4", "7", "0", "1", "5", "6"])
        names = [DEFAULT_NAMES[fn], "a", "b", "durable.start_child", "durable.recv"]
        params = [P("p_workflow_id", "text", st.one_of(*[st.just(id_lease[0])] * 6, own_id),
                    ids),
                  P("p_lease", "bigint", st.one_of(*[st.just(id_lease[1])] * 6, own_lease),
                    leases),
                  P("p_step_id", "integer", st.one_of(positions, positions, step_ids_v),
                    step_ids)]
        name = P("p_step_name" if fn == "start_child" else "p_name", "text",
                 st.sampled_from([names[0]] * 4 + names[1:]), text_from(names), False)
        timeout = P("p_timeout", "interval", WAIT_TIMEOUT, INTERVAL_ARG, False)
        topic = P("p_topic", "text", TOPICS, text_from(["default", "t2"]), False)
        if fn == "sleep":
            # exactly one of the two (the other left out or null), when the call is well formed
            durations = st.sampled_from(["0", "-1 second", "1 hour", "1 day"])
            times = st.sampled_from(["2000-01-01", "now", "2100-01-01"])
            by_time = data.draw(st.booleans(), label="until a time")
            params += [
                P("p_duration", "interval", st.none() if by_time else durations,
                  INTERVAL_ARG, by_time is False),
                P("p_until", "timestamptz", times if by_time else st.none(), TIMESTAMP_ARG,
                  by_time),
            ]
        elif fn == "recv":
            params += [topic, timeout]
        elif fn == "await_event":
            params += [P("p_target", "text", st.sampled_from(
                           [base.ids["other"], base.ids["other"], base.ids["running"],
                            base.ids["awaiter"]]), ids),
                       P("p_key", "text", KEYS, text_from(["k", "k2"])), timeout]
        elif fn == "await_children":
            # kid_done is finished (the wait is over at once), kid is not (it parks), wkid is
            # not running's child (DU016)
            kids = st.sampled_from([base.ids["kid"], base.ids["kid_done"], base.ids["kid_done"]])
            params += [P("p_children", "text[]", st.one_of(
                           st.lists(kids, min_size=1, max_size=3),
                           st.lists(kids, min_size=1, max_size=3),
                           st.just([base.ids["wkid"]])),
                         array_of(ids)),
                       timeout]
        elif fn == "send_step":
            params += [P("p_destination", "text", destinations(base), ids),
                       P("p_message", "jsonb", VALID_JSON, JSON_ARG), topic]
        elif fn == "set_event":
            params += [P("p_key", "text", KEYS, text_from(["k", "k2"])),
                       P("p_value", "jsonb", VALID_JSON, JSON_ARG)]
        elif fn == "start_child":
            child_ids = [f"{base.u}-child", base.ids["kid"], base.ids["pending"],
                         base.ids["running"]]
            params += [
                P("p_name", "text", st.sampled_from(["n", "other-name"]),
                  text_from(["n", "other-name"])),
                P("p_input", "jsonb", VALID_JSON, JSON_ARG, False),
                P("p_child_id", "text", st.one_of(st.none(), st.sampled_from(child_ids)),
                  text_from(child_ids), False),
                P("p_queue", "text", st.one_of(st.none(), queues_v), queues, False),
                P("p_priority", "integer", small(-5, 5), INT_ARG, False),
                P("p_timeout", "interval", st.one_of(st.none(), VALID_INTERVAL), INTERVAL_ARG,
                  False),
                P("p_detached", "boolean", VALID_BOOL, BOOL_ARG, False),
            ]
        params.append(name)
    elif fn == "send":
        params = [P("p_destination", "text", destinations(base), ids),
                  P("p_message", "jsonb", VALID_JSON, JSON_ARG),
                  P("p_topic", "text", TOPICS, text_from(["default", "t2"]), False),
                  P("p_idempotency_key", "text",
                    st.one_of(st.none(), st.sampled_from(["key-1", "key-2"])),
                    text_from(["key-1", "key-2"]), False)]
    elif fn == "get_event":
        params = [P("p_workflow_id", "text", ids_v, ids),
                  P("p_key", "text", KEYS, text_from(["k", "k2"]))]
    elif fn == "watch":
        params = [P("p_workflow_id", "text", st.sampled_from(list(base.ids.values())), ids)]
    elif fn == "fork":  # issue 11
        new_ids = [f"{base.u}-fork", base.ids["pending"]]
        params = [P("p_workflow_id", "text", st.sampled_from(list(base.ids.values())), ids),
                  P("p_step_id", "integer", step_ids_v, step_ids),
                  P("p_new_id", "text", st.one_of(st.none(), st.sampled_from(new_ids)),
                    text_from(new_ids), False),
                  P("p_version", "text", st.one_of(st.none(), st.sampled_from(["v1", "v2"])),
                    text_from(["v1", ""]), False)]
    elif fn == "start_children":  # issue 11: a fan-out in one step
        positions = st.sampled_from(["3", "4", "7", "3", "4", "7", "0", "1", "5"])
        names = ["durable.start_children", "a", "durable.start_child"]
        params = [P("p_workflow_id", "text", st.one_of(*[st.just(id_lease[0])] * 6, own_id), ids),
                  P("p_lease", "bigint", st.one_of(*[st.just(id_lease[1])] * 6, own_lease),
                    leases),
                  P("p_step_id", "integer", st.one_of(positions, positions, step_ids_v),
                    step_ids),
                  P("p_children", "jsonb", children_json(base, valid=True),
                    st.one_of(JSON_ARG, children_json(base, valid=False))),
                  P("p_step_name", "text", st.sampled_from([names[0]] * 4 + names[1:]),
                    text_from(names), False)]
    elif fn in SCHEDULE_FNS:  # issue 11: cron schedules
        schedule_names = [*SCHEDULES, "s-new"]
        name = P("p_name", "text", st.sampled_from(schedule_names), text_from(schedule_names))
        if fn == "cron_next":
            params = [P("p_cron", "text", CRONS, text_from(WILD_CRONS)),
                      P("p_time_zone", "text", TIME_ZONES, text_from(WILD_TIME_ZONES), False),
                      P("p_after", "timestamptz", VALID_TIMESTAMP, TIMESTAMP_ARG, False)]
        elif fn == "set_schedule":
            params = [name,
                      P("p_cron", "text", st.one_of(st.none(), CRONS), text_from(WILD_CRONS),
                        False),
                      P("p_workflow_name", "text",
                        st.one_of(st.none(), st.sampled_from(["n", "other-name"])),
                        text_from(["n", "other-name"]), False),
                      P("p_input", "jsonb", VALID_JSON, JSON_ARG, False),
                      P("p_queue", "text", st.one_of(st.none(), queues_v), queues, False),
                      P("p_time_zone", "text", st.one_of(st.none(), TIME_ZONES),
                        text_from(WILD_TIME_ZONES), False),
                      P("p_missed", "text",
                        st.one_of(st.none(), st.sampled_from(["skip", "once", "all"])),
                        text_from(["skip", "once", "all", "never"]), False),
                      P("p_enabled", "boolean", VALID_BOOL, BOOL_ARG, False),
                      P("p_grace", "interval",
                        st.one_of(st.none(), st.sampled_from(["0", "1 minute", "1 day"])),
                        INTERVAL_ARG, False)]
        elif fn == "materialize_schedules":
            params = [P("p_limit", "integer", st.one_of(small(1, 8), st.just("1000")),
                        INT_ARG, False)]
        else:  # pause, resume, trigger, drop
            params = [name]
    elif fn in BULK_FNS:  # issue 11: retention and bulk operations by filter
        statuses = {"cancel_where": UNFINISHED, "retry_where": ("failed", "cancelled")}.get(
            fn, FINISHED)
        # finished rows aged by two days (and created three days ago), so that time filters
        # and retention find some
        if data.draw(st.booleans(), label="aged"):
            extra["setup"] = AGE_SQL
        limit = P("p_limit", "integer", st.one_of(small(1, 4), st.just("1000")), INT_ARG, False)
        if fn == "housekeep":
            retain = st.one_of(st.none(), st.sampled_from(["1 hour", "1 day", "3 days"]))
            extra["retention"] = data.draw(
                st.tuples(retain, retain, st.sampled_from([1, 2, 1000])), label="retention")
            succeeded, failed, batch = extra["retention"]
            extra["setup"] = extra.get("setup", "") + RETENTION_SQL.format(
                *(f"'{x}'::interval" if x else "null" for x in (succeeded, failed)), batch)
            params = [P("p_worker", "text", workers_v, workers)]
        elif fn == "purge_batch":
            params = [P("p_older_than", "interval",
                        st.sampled_from(["0", "1 hour", "1 day", "3 days"]), INTERVAL_ARG),
                      limit]
        else:
            times = bulk_times()
            params = [P("p_queue", "text", st.one_of(st.none(), st.none(), queues_v), queues,
                        False),
                      P("p_name", "text", st.one_of(st.none(), st.none(),
                                                    st.sampled_from(["n", "other-name"])),
                        text_from(["n", "other-name"]), False),
                      P("p_status", "text[]", st.one_of(
                          st.none(), st.lists(st.sampled_from(statuses), min_size=1,
                                              max_size=3, unique=True)),
                        array_of(text_from([*UNFINISHED, *FINISHED, "bogus"])), False),
                      P("p_created_after", "timestamptz", times, TIMESTAMP_ARG, False),
                      P("p_created_before", "timestamptz", times, TIMESTAMP_ARG, False)]
            if fn != "cancel_where":
                params += [P("p_finished_after", "timestamptz", times, TIMESTAMP_ARG, False),
                           P("p_finished_before", "timestamptz", times, TIMESTAMP_ARG, False)]
            params += [limit, P("p_dry_run", "boolean", VALID_BOOL, BOOL_ARG, False)]
    elif fn in LIST_FNS:  # issue 12: listing runs
        times = bulk_times()
        params = [P("p_status", "text[]", st.one_of(
                      st.none(), st.lists(st.sampled_from([*UNFINISHED, *FINISHED]), min_size=1,
                                          max_size=3, unique=True)),
                    array_of(text_from([*UNFINISHED, *FINISHED, "bogus"])), False),
                  P("p_queue", "text", st.one_of(st.none(), queues_v), queues, False),
                  P("p_name", "text", st.one_of(st.none(), st.sampled_from(["n", "other-name"])),
                    text_from(["n", "other-name"]), False),
                  P("p_created_after", "timestamptz", times, TIMESTAMP_ARG, False),
                  P("p_created_before", "timestamptz", times, TIMESTAMP_ARG, False),
                  P("p_finished_after", "timestamptz", times, TIMESTAMP_ARG, False),
                  P("p_finished_before", "timestamptz", times, TIMESTAMP_ARG, False)]
        if fn == "list_runs":
            params.append(P("p_input", "jsonb", VALID_JSON, JSON_ARG, False))
        params += [P("p_parent_id", "text", st.one_of(st.none(), ids_v), ids, False),
                   P("p_before_id", "text", st.one_of(st.none(), ids_v), ids, False),
                   P("p_before_created_at", "timestamptz", times, TIMESTAMP_ARG, False),
                   P("p_limit", "integer", st.one_of(small(1, 4), st.just("1000")), INT_ARG,
                     False)]
    elif fn == "shard_key":  # issue 14: the routing rule, a pure function
        params = [P("p_id", "text", st.one_of(ids_v, st.sampled_from(
                      ["sched:s:2026-01-01T00:00:00Z", "0190c8a4-1111-7000-8000-0000000000ab-3"])),
                    ids)]
    else:
        raise AssertionError(f"no parameters for {fn}")
    return draw_args(data, params), extra


# --- issue 11: start_children, schedules, retention and bulk operations ----------------------

SCHEDULE_FNS = ("cron_next", "set_schedule", "pause_schedule", "resume_schedule",
                "trigger_schedule", "drop_schedule", "materialize_schedules")
BULK_FNS = ("housekeep", "purge_batch", "purge_where", "cancel_where", "retry_where")
LIST_FNS = ("list_runs", "list_runs_meta")
# the functions that stay the owner's (operators): covered all the same
OWNER_ONLY = {"set_queue", "purge", "purge_batch", "purge_where", "cancel_where", "retry_where"}

# The schedules of an example of a schedule function (added after the baseline): due ones of
# each missed policy (their next tick minutes to a day ago), a paused one, one not due, and one
# whose queue is gone (its materialization fails and notes last_error). Inserted as
# set_schedule stores them: set_schedule checks its time zone in pg_timezone_names, which reads
# the zone files (50 ms a call)
SCHEDULES_SQL = """
insert into durable.schedules as s
       (name, cron, fields, time_zone, workflow_name, input, queue, enabled, missed, next_tick)
select v.name, v.cron, durable.cron_parse(v.cron), v.tz, v.wf, v.input::jsonb, v.queue,
       v.enabled, v.missed,
       case when v.enabled then coalesce(v.due, durable.cron_next_tick(durable.cron_parse(v.cron),
                                                                        v.tz, durable.now())) end
  from (values
    ('s-due', '* * * * *', 'UTC', 'n', '{{"s": 1}}', {q}, true, 'all',
     date_trunc('minute', durable.now()) - interval '5 minutes'),
    ('s-once', '*/5 * * * *', 'UTC', 'n', 'null', null, true, 'once',
     date_trunc('hour', durable.now()) - interval '2 hours'),
    ('s-skip', '0 * * * *', 'Europe/Berlin', 'other-name', 'null', null, true, 'skip',
     date_trunc('hour', durable.now()) - interval '1 day'),
    ('s-paused', '* * * * *', 'UTC', 'n', 'null', null, false, 'skip', null),
    ('s-future', '0 0 1 1 *', 'UTC', 'n', 'null', 'default', true, 'skip', null),
    ('s-badq', '* * * * *', 'UTC', 'n', 'null', 'fq-gone', true, 'skip',
     date_trunc('minute', durable.now()) - interval '1 minute')
  ) as v(name, cron, tz, wf, input, queue, enabled, missed, due)
"""
SCHEDULES = ["s-due", "s-once", "s-skip", "s-paused", "s-future", "s-badq"]
CRONS = st.sampled_from(["* * * * *", "*/5 * * * *", "0 0 1 1 *", "@hourly", "@yearly",
                         "30 2 * * sun", "*/10 * * * * *", "0 9-17/2 * jan-jun mon-fri",
                         "0 0 30 2 *", "0 0 29 2 *"])
WILD_CRONS = ["* * * * *", "", " ", "* * * *", "* * * * * * *", "61 * * * *", "*/0 * * * *",
              "5-1 * * * *", "a b c d e", "@every 5m", "@reboot", "0 0 0 0 0", "1,,2 * * * *",
              "-1 * * * *", "* * * * 8", "99999999999999999999 * * * *",
              ",".join(str(i % 60) for i in range(5000)) + " * * * *", "*/1-5 * * * *"]
TIME_ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                              "Asia/Kolkata"])
WILD_TIME_ZONES = ["UTC", "utc", "EST", "+02:00", "UTC+2", "Mars/Olympus", "Europe/../UTC",
                   "posix/Europe/Berlin", "localtime"]

AGE_SQL = """
update durable.workflows set finished_at = finished_at - interval '2 days',
       created_at = created_at - interval '3 days'
 where status in ('succeeded', 'failed', 'cancelled') and finished_at > durable.now() - interval '1 day';
"""
RETENTION_SQL = """
update durable.settings set retain_succeeded = {}, retain_failed = {}, purge_batch = {};
"""


def bulk_times() -> st.SearchStrategy:
    """Bounds of the bulk filters: none, past and future, around the baseline's rows (created
    now, or three days ago when aged)."""
    now = datetime.now(timezone.utc)
    return st.one_of(st.none(), st.none(), st.sampled_from(
        ["now", "2000-01-01", "-infinity", "infinity",
         *((now + timedelta(days=d)).isoformat() for d in (-4, -2, -1, 1))]))


def children_json(base: Base, valid: bool) -> st.SearchStrategy:
    """The p_children of start_children: arrays of child objects, known keys with values that
    work (valid) or anything (not valid), ids new, an existing child's, another workflow's."""
    child_ids = [f"{base.u}-c1", f"{base.u}-c2", base.ids["kid"], base.ids["pending"],
                 f"{base.ids['running']}-3-1"]
    good = {
        "name": st.sampled_from(["n", "other-name"]).map(json.dumps),
        "input": VALID_JSON,
        "workflow_id": st.sampled_from(child_ids).map(json.dumps),
        "queue": st.sampled_from([base.queue, "default"]).map(json.dumps),
        "priority": small(-5, 5),
        "timeout": VALID_INTERVAL.map(json.dumps),
        "detached": st.sampled_from(["true", "false"]),
    }
    bad = {
        "name": st.one_of(text_from(["n"]).map(json.dumps), JSON_VALUES),
        "input": st.one_of(JSON_VALUES, st.sampled_from(SPECIAL_JSON)),
        "workflow_id": st.one_of(text_from(child_ids).map(json.dumps), JSON_VALUES),
        "queue": st.one_of(text_from([base.queue, f"fq-{base.u}-missing"]).map(json.dumps),
                           JSON_VALUES),
        "priority": st.one_of(st.sampled_from(INTS).map(str), JSON_VALUES),
        "timeout": st.one_of(INTERVAL_ARG.map(json.dumps), JSON_VALUES),
        "detached": st.one_of(BOOL_ARG.map(json.dumps), JSON_VALUES),
        "nope": JSON_VALUES,
    }
    pick = good if valid else bad

    @st.composite
    def build(draw):
        n = draw(st.integers(1, 4) if valid else st.integers(0, 4))
        items = []
        for _ in range(n):
            keys = draw(st.lists(st.sampled_from(sorted(pick)), unique=True, max_size=3))
            if "name" not in keys and (valid or draw(st.booleans())):
                keys.append("name")
            items.append("{" + ", ".join(f'"{k}": {draw(pick[k])}' for k in keys) + "}")
        if not valid and draw(st.booleans()):
            items += draw(st.sampled_from([["1"], ["[]"], ["null"], ['{"name": "n"}'] * 10001]))
        return "[" + ", ".join(items) + "]"

    return build()


def call(conn: psycopg.Connection, fn: str, args: list[Arg]):
    parts, params = [], []
    for x in args:
        text, values = x.sql()
        parts.append(text)
        params += values
    return conn.execute(f"select * from durable.{fn}({', '.join(parts)})", params).fetchall()


# --- the contracts of successful calls -------------------------------------------------------

def value(args: list[Arg], name: str, default=None):
    for x in args:
        if x.name == name:
            return x.value
    return default


def md5_or_none(text):
    return None if text is None else hashlib.md5(text.encode()).hexdigest()


def as_int(text):
    """The integer Postgres read from text (PostgreSQL 16+ also reads 0x, 0o, 0b and _)."""
    if text is None:
        return None
    s = str(text).strip().replace("_", "").lower()
    sign, s = (-1, s[1:]) if s.startswith("-") else (1, s.lstrip("+"))
    for prefix, radix in (("0x", 16), ("0o", 8), ("0b", 2)):
        if s.startswith(prefix):
            return sign * int(s[2:], radix)
    return sign * int(s)


def only(d, *tables) -> None:
    """Nothing outside these tables changed."""
    assert d.tables_touched() <= set(tables), f"touched {d.describe()}"


def as_bool(text):
    return None if text is None else str(text).strip().lower() in ("true", "t", "yes", "y", "1",
                                                                   "on")


UNFINISHED = ("pending", "running", "waiting")
FINISHED = ("succeeded", "failed", "cancelled")


def descends(Wb, wid, roots) -> bool:
    """wid is under one of roots through children none of which was started detached (what a
    cancel of a root reaches, through finished children too)."""
    seen = set()
    while wid not in seen:
        seen.add(wid)
        row = Wb.get(wid)
        if row is None or row.detached or row.parent_id is None:
            return False
        if row.parent_id in roots:
            return True
        wid = row.parent_id
    return False


def check_knock_on(before, after, d, explained, roots=(), finished=(), woken_by=(),
                   expiry=False, waits=()) -> None:
    """The workflows a call changed besides those it acts on (explained) are only: roots and the
    unfinished descendants of roots, cancelled (a cancel's cascade; with expiry, every workflow
    whose deadline passed is a root); parents woken (waiting -> pending) because a child of
    theirs finished or was cancelled here; and woken_by (woken by a message or an event). The
    open waits of the woken workflows note woken_at; no other wait changed (but the keys in
    waits, which the caller checks)."""
    Wb, Wa = before.rows["workflows"], after.rows["workflows"]
    roots = set(roots)
    if expiry:
        roots |= {w for w in d.changed["workflows"] if Wa[w].overdue}
    cancelled, woken = set(), set()
    for wid in d.changed["workflows"] - set(explained):
        pre, post = Wb[wid], Wa[wid]
        if pre.status in UNFINISHED and post.status == "cancelled":
            assert wid in roots or descends(Wb, wid, roots), \
                f"{wid} cancelled, but it is no root's descendant"
            assert (post.owner, post.lease) == (None, None), f"{wid} cancelled, still owned"
            cancelled.add(wid)
        elif (pre.status, post.status) == ("waiting", "pending"):
            woken.add(wid)
        else:
            raise AssertionError(f"{wid} changed from {pre.status} to {post.status}")
    ends = set(finished) | roots | cancelled
    if cancelled - set(explained) or woken:
        event(f"knock-on: {len(cancelled)} cancelled, {len(woken)} woken")
    for wid in woken:
        assert wid in set(woken_by) or any(Wb[c].parent_id == wid for c in ends), \
            f"{wid} woken, but nothing it waits for happened"
    Tb, Ta = before.rows["waits"], after.rows["waits"]
    assert not d.removed["waits"] and not (d.added["waits"] - set(waits))
    for key in d.changed["waits"] - set(waits):
        assert key[0] in woken, f"wait {key} changed, but its workflow was not woken"
        assert Tb[key].resolved_at is None and Ta[key].resolved_at is None
        assert Ta[key].woken_at is not None
        assert (Ta[key].kind, Ta[key].deadline, Ta[key].parked_at) == (
            Tb[key].kind, Tb[key].deadline, Tb[key].parked_at)


def finished_here(before, after, ids) -> set:
    Wb, Wa = before.rows["workflows"], after.rows["workflows"]
    return {w for w in ids if w in Wb and Wb[w].status not in FINISHED
            and Wa[w].status in FINISHED}


def check_success(fn, args, rows, before, after, d, extra) -> None:
    W, Wb, Wa = "workflows", before.rows["workflows"], after.rows["workflows"]
    S, Sb = "steps", before.rows["steps"]
    if fn == "enqueue":
        only(d, W)
        [(wid, created)] = rows
        assert not d.removed[W] and not d.changed[W]
        given_id = value(args, "p_workflow_id")
        if given_id is not None:
            assert wid == given_id
        if created:
            assert d.added[W] == {wid} and wid not in Wb
            row = Wa[wid]
            assert (row.status, row.name, row.parent_id) == ("pending", value(args, "p_name"),
                                                             None)
            # p_queue null: the registered queue, else default
            assert row.queue == value(args, "p_queue") or value(args, "p_queue") is None
            # the deadline: run_at + p_timeout (null: the registered timeout, else none)
            registered = before.rows["workflow_types"].get(row.name)
            timeout = value(args, "p_timeout")
            if timeout is None and registered is None:
                assert row.deadline is None
            elif timeout is not None:
                [(ok,)] = extra["db"].execute(
                    "select deadline = run_at + %s::interval from durable.workflows"
                    " where id = %s", [timeout, wid]).fetchall()
                assert ok, f"deadline {row.deadline} is not run_at {row.run_at} + {timeout}"
        else:
            assert not d.added[W] and Wb[wid].name == value(args, "p_name")
    elif fn == "enqueue_batch":
        only(d, W)
        if extra["n_items"] is not None:
            assert len(rows) == extra["n_items"]
        created = {wid for wid, c in rows if c}
        assert d.added[W] == created and not d.removed[W] and not d.changed[W]
        assert all(c or wid in Wb or wid in created for wid, c in rows)
    elif fn == "claim":
        only(d, W, "workers", "waits", "queue_starts")  # queue_starts: rate-limited queues
        got = {r[0]: r[4] for r in rows}
        assert len(got) == len(rows) <= as_int(value(args, "p_max", "1"))
        # it also cancels the workflows whose deadline passed, with their children
        assert set(got) <= d.changed[W] and not d.added[W] and not d.removed[W]
        check_knock_on(before, after, d, got, expiry=True)
        worker = value(args, "p_worker")
        assert d.touched("workers") <= {worker} and not d.removed["workers"]
        queues = value(args, "p_queues", ["default"])
        for wid, lease in got.items():
            pre, post = Wb[wid], Wa[wid]
            assert (post.status, post.owner, post.lease) == ("running", worker, lease)
            assert pre.queue in queues
            dead = before.rows["workers"].get(pre.owner)
            assert pre.status in ("pending", "waiting") or (
                pre.status == "running" and dead is not None and dead.expires_at < after.now)
    elif fn == "checkpoint":
        only(d, S, "errors")
        [(recorded, output, error)] = rows
        key = (value(args, "p_workflow_id"), str(as_int(value(args, "p_step_id"))))
        assert not d.removed[S] and not d.changed[S]
        assert not d.removed["errors"] and not d.changed["errors"]
        if recorded:
            assert key not in Sb and d.added[S] == {key}
            row = after.rows[S][key]
            assert row.name == value(args, "p_name")
            assert (row.output, row.error) == (md5_or_none(output), md5_or_none(error))
        else:
            assert key in Sb and not d.added[S]
            assert (Sb[key].output, Sb[key].error) == (md5_or_none(output), md5_or_none(error))
        wrote_error = recorded and value(args, "p_error") is not None
        assert len(d.added["errors"]) == (1 if wrote_error else 0)
    elif fn == "step_failed":
        only(d, S, "errors")
        [(retry, retry_in, tries, output, error, retry_in_seconds)] = rows
        key = (value(args, "p_workflow_id"), str(as_int(value(args, "p_step_id"))))
        assert not d.removed[S] and not d.changed[S]
        assert not d.removed["errors"] and not d.changed["errors"]
        if key in Sb:
            assert not d.tables_touched() and retry is False
            assert (Sb[key].output, Sb[key].error) == (md5_or_none(output), md5_or_none(error))
        else:
            assert len(d.added["errors"]) == 1
            assert d.added[S] == (set() if retry else {key})
            if retry:
                assert retry_in is not None and tries < as_int(value(args, "p_max_attempts", "1"))
            # retry_in_seconds is retry_in as a number of seconds, null with it
            assert (retry_in_seconds is None) == (retry_in is None)
            assert retry_in is None or abs(retry_in.total_seconds() - retry_in_seconds) < 1e-6
    elif fn == "complete":
        only(d, W, "waits")
        wid = value(args, "p_workflow_id")
        assert rows == [("succeeded",)] and wid in d.changed[W]
        assert not d.added[W] and not d.removed[W]
        check_knock_on(before, after, d, {wid}, finished={wid})  # a parent waiting on it wakes
        assert (Wb[wid].status, Wb[wid].lease) == ("running", as_int(value(args, "p_lease")))
        assert (Wa[wid].status, Wa[wid].owner, Wa[wid].lease) == ("succeeded", None, None)
    elif fn == "complete_and_claim":
        only(d, W, S, "workers", "waits", "queue_starts")
        wid, worker = value(args, "p_workflow_id"), value(args, "p_worker")
        assert rows and all(r[0] == "succeeded" for r in rows)
        got = {r[1]: r[5] for r in rows if r[1] is not None}
        assert len(got) == len([r for r in rows if r[1] is not None])
        assert len(got) <= as_int(value(args, "p_max", "1")) and (got or len(rows) == 1)
        assert (Wb[wid].status, Wb[wid].lease) == ("running", as_int(value(args, "p_lease")))
        assert (Wa[wid].status, Wa[wid].owner, Wa[wid].lease) == ("succeeded", None, None)
        assert {wid} | set(got) <= d.changed[W] and not d.added[W] and not d.removed[W]
        # a parent waiting on it wakes; with p_max > 0, passed deadlines are cancelled
        check_knock_on(before, after, d, {wid} | set(got), finished={wid},
                       expiry=as_int(value(args, "p_max", "1")) > 0)
        queues = value(args, "p_queues", ["default"])
        for claimed_id, lease in got.items():
            pre, post = Wb[claimed_id], Wa[claimed_id]
            assert (post.status, post.owner, post.lease) == ("running", worker, lease)
            assert pre.queue in queues
        assert d.touched("workers") <= ({worker} if got or as_int(value(args, "p_max", "1"))
                                        else set())
        assert not d.removed["workers"] and not d.removed[S] and not d.changed[S]
        if value(args, "p_step_id") is None:
            assert not d.added[S]
        else:
            key = (wid, str(as_int(value(args, "p_step_id"))))
            assert d.added[S] == (set() if key in Sb else {key})
            assert after.rows[S][key].name == value(args, "p_step_name")
    elif fn in ("complete_batch", "fail_batch"):
        check_batch(fn, args, rows, before, after, d)
    elif fn == "fail":
        only(d, W, S, "errors", "waits")
        wid = value(args, "p_workflow_id")
        [(status, run_at)] = rows
        # a failure for good wakes a parent waiting on it
        assert status in ("pending", "failed") and wid in d.changed[W]
        assert status == "failed" or run_at is not None
        check_knock_on(before, after, d, {wid}, finished=finished_here(before, after, {wid}))
        assert (Wb[wid].status, Wb[wid].lease) == ("running", as_int(value(args, "p_lease")))
        assert Wa[wid].status == status and Wa[wid].owner is None
        assert [after.rows["errors"][e].workflow_id for e in d.added["errors"]] == [wid]
        assert not d.added[S] and not d.changed[S]
        error_steps = {k for k, s in Sb.items() if k[0] == wid and s.is_error}
        assert d.removed[S] == (error_steps if status == "pending" else set())
    elif fn == "heartbeat":
        only(d, "workers", W, "waits")
        # it cancels the workflows whose deadline passed, with their children
        assert not d.added[W] and not d.removed[W]
        check_knock_on(before, after, d, set(), expiry=True)
        worker = value(args, "p_worker")
        assert worker in after.rows["workers"]
        assert (d.added["workers"] | d.changed["workers"]) <= {worker}
        for gone in d.removed["workers"]:
            assert before.rows["workers"][gone].expires_at.timestamp() < \
                after.now.timestamp() - 86400
        held = {(k, r.lease) for k, r in Wa.items() if r.owner == worker and r.status == "running"}
        assert set(rows) == held and len(rows) == len(held)
    elif fn == "register":
        only(d, "workers", "workflow_types", "worker_registrations")
        worker = value(args, "p_worker")
        assert worker in after.rows["workers"]
        assert (d.added["workers"] | d.changed["workers"]) <= {worker}
        assert not d.removed["workers"] and not d.removed["workflow_types"]
        [(lease_timeout,)] = rows
        assert lease_timeout.total_seconds() > 0
    elif fn == "release":
        only(d, W, "workers")
        worker, wanted = value(args, "p_worker"), value(args, "p_workflow_ids")
        [(count,)] = rows
        assert count == len(d.changed[W]) and not d.added[W] and not d.removed[W]
        for wid in d.changed[W]:
            assert (Wb[wid].owner, Wb[wid].status) == (worker, "running")
            assert (Wa[wid].owner, Wa[wid].status) == (None, "pending")
            assert wanted is None or wid in wanted
        assert not d.added["workers"] and not d.changed["workers"]
        if wanted is None:
            assert d.removed["workers"] == {worker} & set(before.rows["workers"])
        else:
            assert not d.removed["workers"]
    elif fn == "cancel":
        only(d, W, "waits")
        wid = value(args, "p_workflow_id")
        assert rows == [("cancelled",)]
        if Wb[wid].status == "cancelled":
            assert not d.tables_touched()
        else:
            assert Wb[wid].status in ("pending", "running", "waiting")
            assert wid in d.changed[W] and not d.added[W] and not d.removed[W]
            assert (Wa[wid].status, Wa[wid].owner) == ("cancelled", None)
            # its unfinished descendants (but detached ones) are cancelled too, and a parent
            # waiting on it wakes
            check_knock_on(before, after, d, set(), roots={wid})
            assert {w for w in Wb if Wb[w].status in UNFINISHED and descends(Wb, w, {wid})} \
                <= d.changed[W], "a descendant was not cancelled"
    elif fn == "retry":
        only(d, W, S)
        wid = value(args, "p_workflow_id")
        assert rows == [("pending",)] and Wb[wid].status in ("failed", "cancelled")
        assert d.changed[W] == {wid} and not d.added[W] and not d.removed[W]
        assert (Wa[wid].status, Wa[wid].attempt) == ("pending", Wb[wid].attempt + 1)
        assert d.removed[S] == {k for k, s in Sb.items() if k[0] == wid and s.is_error}
        assert not d.added[S] and not d.changed[S]
    elif fn == "result":
        only(d)
        wid = value(args, "p_workflow_id")
        assert len(rows) == 1 and rows[0][0] == Wb[wid].status
    elif fn == "set_queue":
        only(d, "queues")
        name = value(args, "p_name")
        assert (d.added["queues"] | d.changed["queues"]) <= {name}
        assert not d.removed["queues"]
        row, old = after.rows["queues"][name], before.rows["queues"].get(name)
        # only what is given changes: null keeps a setting (a new queue: no limit, not paused),
        # concurrency 0 removes the limit
        given = as_int(value(args, "p_concurrency"))
        assert row.concurrency == ((old.concurrency if old else None) if given is None
                                   else (given or None))
        paused = value(args, "p_paused")
        assert row.paused == ((old.paused if old else False) if paused is None
                              else paused in ("true", "yes", "1"))
    elif fn == "purge":
        [(count,)] = rows
        check_purged(count, before, after, d)
    elif fn in BULK_FNS:
        check_bulk(fn, args, rows, before, after, d, extra)
    elif fn == "shard_key":
        only(d)  # computes only
        [(key,)] = rows
        wid = value(args, "p_id")
        assert key == (None if wid is None else shard_key(wid))
    elif fn in LIST_FNS:
        only(d)  # reads only
        assert len(rows) <= as_int(value(args, "p_limit", "50"))
        ids = [r[0] for r in rows]
        assert len(set(ids)) == len(ids) and set(ids) <= set(Wb)
        status = value(args, "p_status")
        if isinstance(status, list):
            assert {Wb[i].status for i in ids} <= set(status)
    elif fn == "start_children":
        check_start_children(args, rows, before, after, d)
    elif fn in SCHEDULE_FNS:
        check_schedule(fn, args, rows, before, after, d)
    elif fn in WORKER_SIDE:
        check_worker_side(fn, args, rows, before, after, d, extra)
    elif fn == "send":
        only(d, W, "waits", "messages")
        [(message_id,)] = rows
        check_sent(args, message_id, None, before, after, d)
    elif fn == "get_event":
        only(d)
        wid, key = value(args, "p_workflow_id"), value(args, "p_key")
        [(found, got, set_at)] = rows
        mine = [i for i, e in before.rows["events"].items() if (e.workflow_id, e.key) == (wid, key)]
        assert wid in Wb and found == bool(mine) and (set_at is None) == (not mine)
        if mine:
            assert md5_or_none(got) == before.rows["events"][max(mine)].value
    elif fn == "watch":
        wid = value(args, "p_workflow_id")
        assert len(rows) == 1 and rows[0][0] == Wb[wid].status
        if Wb[wid].status in UNFINISHED and not Wb[wid].watched:
            only(d, W)
            assert d.changed[W] == {wid} and Wa[wid].watched
        else:
            only(d)
    elif fn == "fork":
        # one new pending workflow, a copy of the original with its steps before the position
        only(d, W, S)
        [(new,)] = rows
        orig, step = value(args, "p_workflow_id"), as_int(value(args, "p_step_id"))
        assert new == value(args, "p_new_id") or value(args, "p_new_id") is None
        assert d.added[W] == {new} and not d.changed[W] and not d.removed[W]
        row = Wa[new]
        assert (row.status, row.name, row.queue, row.parent_id, row.owner) == (
            "pending", Wb[orig].name, Wb[orig].queue, None, None)
        copied = {(new, k[1]) for k in Sb if k[0] == orig and int(k[1]) < step}
        assert d.added[S] == copied and not d.changed[S] and not d.removed[S]
        for _, k in copied:
            assert after.rows[S][(new, k)][2:] == Sb[(orig, k)][2:]  # name, output, error
    else:
        raise AssertionError(f"no contract for {fn}")


def check_sent(args, message_id, sender, before, after, d) -> None:
    """send and send_step: one message added to p_destination on p_topic, or none when its
    idempotency key was used before (that message's id is returned); the destination wakes when
    it waits for a message on that topic."""
    Mb, Ma = before.rows["messages"], after.rows["messages"]
    dest, topic = value(args, "p_destination"), value(args, "p_topic", "default")
    key = (f"{sender[0]}:{sender[1]}" if sender else value(args, "p_idempotency_key"))
    assert not d.removed["messages"] and not d.changed["messages"]
    if d.added["messages"]:
        assert d.added["messages"] == {message_id}
        m = Ma[message_id]
        assert (m.workflow_id, m.topic, m.idempotency_key, m.sender, m.consumed_at) == (
            dest, topic, key, sender and sender[0], None)
    else:
        assert key is not None and (Mb[message_id].workflow_id,
                                    Mb[message_id].idempotency_key) == (dest, key)
    event(f"send{'_step' if sender else ''}: " + ("sent" if d.added["messages"] else "sent before")
          + (", woke its destination" if d.changed["workflows"] else ""))
    waiting = {w for (w, _), t in before.rows["waits"].items()
               if w == dest and t.kind == "message" and t.topic == topic
               and t.resolved_at is None}
    check_knock_on(before, after, d, set(), woken_by=waiting if d.added["messages"] else ())
    if d.added["messages"]:
        Wb = before.rows["workflows"]
        assert {w for w in waiting if Wb[w].status == "waiting"} <= d.changed["workflows"], \
            "the destination waits on that topic, and was not woken"


def matched(pattern: str, text: str | None) -> int:
    m = re.search(pattern, text or "")
    assert m, f"{text!r} does not match {pattern}"
    return int(m.group(1))


def check_worker_side(fn, args, rows, before, after, d, extra) -> None:
    """The waits: parked = true changed only the run's row (waiting, owner and lease cleared)
    and its durable.waits row; parked = false recorded exactly one step at (workflow, step) (recv:
    and consumed exactly one message), or returned the step recorded there and wrote nothing.
    send_step, set_event and start_child: one step, and one message, one event, one child (or
    none, when that child exists already), or nothing when the step was recorded."""
    W, Wb, Wa = "workflows", before.rows["workflows"], after.rows["workflows"]
    S, Sb, Sa = "steps", before.rows["steps"], after.rows["steps"]
    wid, lease = value(args, "p_workflow_id"), as_int(value(args, "p_lease"))
    step = as_int(value(args, "p_step_id"))
    key = (wid, str(step))
    name = value(args, "p_step_name" if fn == "start_child" else "p_name", DEFAULT_NAMES[fn])
    if fn in WAITS:
        [(parked, output)] = rows
    else:
        [(output,)] = rows
        parked = False
    # fenced: only the current lease of a running workflow gets an answer
    assert (Wb[wid].status, Wb[wid].lease) == ("running", lease) and not Wb[wid].overdue
    event(f"{fn}: " + ("replayed" if key in Sb else "parked" if parked else "recorded"))
    if key in Sb:  # replayed: the recorded outcome, nothing written
        assert not parked and not d.tables_touched(), "a replay wrote"
        assert (Sb[key].name, Sb[key].output) == (name, md5_or_none(output))
        return
    if parked:
        only(d, W, "waits")
        assert output is None
        assert d.changed[W] == {wid} and not d.added[W] and not d.removed[W]
        assert (Wa[wid].status, Wa[wid].owner, Wa[wid].lease) == ("waiting", None, None)
        assert d.touched("waits") == {key} and not d.removed["waits"]
        t = after.rows["waits"][key]
        assert (t.kind, t.name, t.resolved_at) == (WAITS[fn], name, None) and t.parked_at
        return
    assert d.added[S] == {key} and not d.changed[S] and not d.removed[S]
    assert (Sa[key].name, Sa[key].output, Sa[key].is_error) == (name, md5_or_none(output), False)
    if fn in WAITS:
        only(d, S, "waits", "messages")
        timed_out = output == '{"timed_out": true}' or output.endswith(', "timed_out": true}')
        assert d.touched("waits") == {key} and not d.removed["waits"]
        t = after.rows["waits"][key]
        assert (t.kind, t.name, t.outcome) == (WAITS[fn], name,
                                               "timed_out" if timed_out else "ready")
        assert t.resolved_at is not None
        events = before.rows["events"]
        if fn == "sleep":
            assert output.startswith('{"slept_until": ')
        elif fn == "recv" and not timed_out:
            # the oldest unconsumed message of the topic, consumed by this step
            topic = value(args, "p_topic", "default")
            m = matched(r'"message_id": (\d+)\}$', output)
            Mb, Ma = before.rows["messages"], after.rows["messages"]
            assert m == min(i for i, r in Mb.items() if (r.workflow_id, r.topic) == (wid, topic)
                            and r.consumed_at is None)
            assert d.changed["messages"] == {m} and Ma[m].consumed_step == step
        elif fn == "await_event" and not timed_out:
            target, ekey = value(args, "p_target"), value(args, "p_key")
            assert matched(r'"event_id": (\d+)\}$', output) == max(
                i for i, e in events.items() if (e.workflow_id, e.key) == (target, ekey))
        elif fn == "await_children":
            assert output.startswith('{"children": [')
            if not timed_out:
                assert all(Wb[c].status in FINISHED for c in value(args, "p_children"))
        if fn != "recv" or timed_out:
            assert not d.tables_touched() & {"messages"}
    elif fn == "send_step":
        only(d, W, S, "waits", "messages")
        check_sent(args, matched(r'^\{"message_id": (\d+)\}$', output), (wid, step), before,
                   after, d)
    elif fn == "set_event":
        only(d, W, S, "waits", "events")
        e = matched(r'^\{"event_id": (\d+)\}$', output)
        assert d.added["events"] == {e} and not d.changed["events"] and not d.removed["events"]
        row = after.rows["events"][e]
        assert (row.workflow_id, row.key, row.step_id) == (wid, value(args, "p_key"), step)
        awaiters = {w for (w, _), t in before.rows["waits"].items()
                    if (t.kind, t.target, t.topic) == ("event", wid, value(args, "p_key"))
                    and t.resolved_at is None}
        check_knock_on(before, after, d, set(), woken_by=awaiters)
        assert awaiters & {w for w in Wb if Wb[w].status == "waiting"} <= d.changed[W]
    elif fn == "start_child":
        only(d, W, S)
        child = json.loads(output)["workflow_id"]
        given = value(args, "p_child_id")
        default = f"{wid}-{step}"
        if len(default) > 200:
            default = f"child-{hashlib.md5(wid.encode()).hexdigest()}-{step}"
        assert child == (default if given is None else given)
        assert not d.changed[W] and not d.removed[W]
        if child in Wb:  # started before (its step not recorded): found, not started again
            assert not d.added[W]
            assert (Wb[child].parent_id, Wb[child].name) == (wid, value(args, "p_name"))
            return
        assert d.added[W] == {child}
        row = Wa[child]
        detached = bool(as_bool(value(args, "p_detached")))
        assert (row.status, row.name, row.parent_id, row.detached) == (
            "pending", value(args, "p_name"), wid, detached)
        assert row.queue == value(args, "p_queue") or value(args, "p_queue") is None
        # its deadline: the parent's, or p_timeout (else the registered one) from now when
        # sooner; detached: only its own
        [(ok,)] = extra["db"].execute("""
            select c.deadline is not distinct from case
                     when c.detached then c.created_at + coalesce(%(t)s::interval, t.timeout)
                     else least(p.deadline, c.created_at + coalesce(%(t)s::interval, t.timeout))
                   end
              from durable.workflows c
              join durable.workflows p on p.id = c.parent_id
              left join durable.workflow_types t on t.name = c.name
             where c.id = %(c)s""", {"t": value(args, "p_timeout"), "c": child}).fetchall()
        assert ok, f"child deadline {row.deadline}, parent's {Wb[wid].deadline}"


def check_batch(fn, args, rows, before, after, d) -> None:
    W, Wb, Wa = "workflows", before.rows["workflows"], after.rows["workflows"]
    ids, leases = value(args, "p_workflow_ids"), value(args, "p_leases")
    assert [r[0] for r in rows] == ids
    written = set()
    for wid, lease, row in zip(ids, leases, rows):
        outcome, pre = row[1], Wb.get(wid)
        if outcome == "unknown":
            assert pre is None
        elif outcome == "cancelled":  # or past its deadline
            assert pre.status == "cancelled" or (pre.status == "running" and Wa[wid].overdue)
        elif outcome == "lease_lost":
            assert pre is not None and pre.status != "cancelled" and not (
                pre.status == "running" and pre.lease == as_int(lease))
        else:
            assert (pre.status, pre.lease) == ("running", as_int(lease))
            assert outcome in (("succeeded",) if fn == "complete_batch" else ("pending", "failed"))
            assert Wa[wid].status == outcome
            written.add(wid)
    assert written <= d.changed[W] and not d.added[W] and not d.removed[W]
    # the parents waiting on the children finished here wake
    check_knock_on(before, after, d, written, finished=finished_here(before, after, written))
    if fn == "complete_batch":
        only(d, W, "waits")
    else:
        only(d, W, "steps", "errors", "waits")
        assert sorted(after.rows["errors"][e].workflow_id for e in d.added["errors"]) == \
            sorted(written)
        pending = {r[0] for r in rows if r[1] == "pending"}
        assert d.removed["steps"] == {
            k for k, s in before.rows["steps"].items() if k[0] in pending and s.is_error}
        assert not d.added["steps"] and not d.changed["steps"]


# --- the property ----------------------------------------------------------------------------

PUBLIC = ["enqueue", "enqueue_batch", "claim", "checkpoint", "step_failed", "complete",
          "complete_batch", "complete_and_claim", "fail", "fail_batch", "heartbeat", "release",
          "register", "cancel", "retry", "result", "set_queue", "purge",
          # waiting (issue 10)
          *WORKER_SIDE, "send", "get_event", "watch",
          # flow control (issue 11)
          "fork",
          # fan-out, schedules, retention and bulk operations (issue 11)
          "start_children", *SCHEDULE_FNS, *BULK_FNS,
          # listing (issue 12)
          *LIST_FNS,
          # sharding (issue 14)
          "shard_key"]


def test_the_property_covers_every_public_function(db):
    """PUBLIC lists every function granted to durable's worker and client roles that takes
    arguments (durable.now(), durable.version() and durable.shard_info() take none)."""
    granted = {r[0] for r in db.execute(
        "select distinct p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = 'durable' and (has_function_privilege('durable_worker', p.oid,"
        " 'execute') or has_function_privilege('durable_client', p.oid, 'execute'))")}
    granted -= {"now", "version", "shard_info"}
    assert granted <= set(PUBLIC), f"not covered: {granted - set(PUBLIC)}"
    # set_queue, purge and the bulk operations are for the owner (operators); they are covered
    # all the same
    assert set(PUBLIC) - granted <= OWNER_ONLY


@pytest.mark.parametrize("fn", PUBLIC)
@FAULTS
@seed(int(SEED or 0))  # used only when DURABLE_FAULTS_SEED is set (otherwise derandomized)
@given(data=st.data())
def test_every_call_succeeds_as_documented_or_refuses_without_writing(db, fn, data):
    base = build_base(db)
    if fn in SCHEDULE_FNS:
        db.execute(SCHEDULES_SQL.format(q=sql.Literal(base.queue).as_string(db)))
    for _ in range(data.draw(st.integers(1, 3), label="calls")):
        args, extra = draw_call(data, base, fn)
        extra["db"] = db  # a contract compares a few values in SQL (deadlines)
        if extra.get("setup"):
            db.execute(extra["setup"])
        before = snapshot(db)
        try:
            rows = call(db, fn, args)
        except psycopg.Error as e:
            event(f"{fn} raised {e.sqlstate}")
            assert not db.closed and not db.broken, f"{fn}: connection lost: {e}"
            assert acceptable_sqlstate(e.sqlstate), \
                f"{fn} raised {e.sqlstate}: {e} (args {describe(args)})"
            if e.sqlstate.startswith("DU"):
                allowed = db.documented[fn] | KNOWN_UNDOCUMENTED.get(fn, set())
                assert e.sqlstate in allowed, \
                    f"{fn} raised {e.sqlstate}, which its comment does not list: {e}"
            after = snapshot(db)
            d = diff(before, after)
            assert not d.tables_touched(), \
                f"{fn} raised {e.sqlstate} but wrote: {d.describe()} ({describe(args)})"
            assert before.summary() == after.summary()
        else:
            event(f"{fn} succeeded")
            after = snapshot(db)
            d = diff(before, after)
            try:
                check_success(fn, args, rows, before, after, d, extra)
            except AssertionError as e:
                raise AssertionError(
                    f"{fn}({describe(args)}) returned {short(rows)} and changed "
                    f"{d.describe()}: {e}") from e
        assert db.execute("select 1").fetchone() == (1,)


def short(x, limit=300) -> str:
    text = repr(x)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def describe(args: list[Arg]) -> str:
    return ", ".join(f"{a.name} => {short(a.value, 80)}::{a.cast}" for a in args)


# --- defects found by these runs, one test each ----------------------------------------------

def claimed(db, **enqueue_args) -> tuple[str, str, int]:
    """A fresh queue with one workflow claimed by a fresh worker: (queue, id, lease)."""
    u = secrets.token_hex(5)
    q, wid = f"fd-{u}", f"{u}-wf"
    db.execute("select durable.set_queue(%s)", [q])
    extra = "".join(f", {k} => %s::interval" if "backoff" in k else f", {k} => %s"
                    for k in enqueue_args)
    db.execute(f"select * from durable.enqueue('n', '{{}}', %s, %s{extra})",
               [q, wid, *enqueue_args.values()])
    lease = db.execute("select lease from durable.claim(%s, array[%s])", [f"fw-{u}", q]).fetchone()[0]
    return q, wid, lease


def test_step_failed_answers_retry_for_every_try_below_max_attempts(db):
    """Regression (found by these runs, fixed in durable.backoff): the delay was computed as
    p_base * 2^(tries-1) in interval arithmetic before the cap, so from the 39th try with a
    1-minute base step_failed raised 22008 instead of answering retry."""
    _, wid, lease = claimed(db)
    for tries in range(1, 50):
        [(retry, retry_in, counted, _, _, _)] = db.execute(
            "select * from durable.step_failed(%s, %s, 0, 's', '{\"e\": 1}', 50,"
            " '1 minute', '1 hour')", [wid, lease]).fetchall()
        assert (retry, counted) == (True, tries)
        assert timedelta(0) < retry_in <= timedelta(hours=1)


def test_fail_schedules_every_retry_of_a_workflow_with_many_attempts(db, superuser):
    """Regression (same overflow, through durable.fail): a workflow with max_attempts 60 and
    backoff 1 minute .. 1 hour is retried at every attempt, each within the hour."""
    if not superuser:
        pytest.skip("pins durable.fake_now, which needs a superuser")
    u = secrets.token_hex(5)
    q, wid = f"fd-{u}", f"{u}-wf"
    db.execute("select durable.set_queue(%s)", [q])
    db.execute("select * from durable.enqueue('n', '{}', %s, %s, p_max_attempts => 60,"
               " p_backoff_base => '1 minute', p_backoff_max => '1 hour')", [q, wid])
    start = datetime(2031, 1, 1, tzinfo=timezone.utc)
    for attempt in range(1, 50):
        now = start + timedelta(hours=2 * attempt)  # the retry (at most an hour) is due
        with db.transaction():
            db.execute("select set_config('durable.fake_now', %s, true)", [now.isoformat()])
            [(lease, got_attempt)] = db.execute(
                "select lease, attempt from durable.claim(%s, array[%s])",
                [f"fw-{u}", q]).fetchall()
            assert got_attempt == attempt
            [(status, run_at)] = db.execute(
                "select * from durable.fail(%s, %s, '{\"e\": 1}')", [wid, lease]).fetchall()
            assert status == "pending" and now < run_at <= now + timedelta(hours=1)


# Regression (found by the fault runs): enqueue accepts a backoff that durable.fail cannot add to
# the clock: backoff_base = backoff_max = '1000000 years' is stored, then every fail of the
# workflow raises 22008 (timestamp out of range). Fixed in SQL: check_enqueue refuses backoff_max
# over a bound (e.g. 10 years) with DU011, before anything is written
def test_a_workflow_whose_backoff_enqueue_accepted_can_be_failed(db):
    try:
        _, wid, lease = claimed(db, p_backoff_base="1000000 years",
                                p_backoff_max="1000000 years")
    except psycopg.Error as e:
        assert e.sqlstate == "DU011", e  # refused before anything is written: the fix
        return
    [(status, _)] = db.execute("select * from durable.fail(%s, %s, '{\"e\": 1}')",
                               [wid, lease]).fetchall()
    assert status == "pending"


# Regression (found by the fault runs): checkpoint and step_failed take p_error = 'null'::jsonb
# (JSON null, not SQL null) and record a failed step whose replay in claim's steps is {output:
# null, error: null}: the same as a step that succeeded with output null, so a resumed workflow
# takes the failed step for a success. Fixed in SQL: refuse a JSON null error with DU010, as SQL
# null is
@pytest.mark.parametrize("how", ["checkpoint", "step_failed"])
def test_a_step_recorded_with_an_error_replays_as_an_error(db, how):
    q, wid, lease = claimed(db)
    try:
        if how == "checkpoint":
            db.execute("select * from durable.checkpoint(%s, %s, 0, 's', null, 'null')",
                       [wid, lease])
        else:
            db.execute("select * from durable.step_failed(%s, %s, 0, 's', 'null')",
                       [wid, lease])
    except psycopg.Error as e:
        assert e.sqlstate == "DU010"  # refusing it is the other acceptable fix
        return
    db.execute("select durable.release(owner) from durable.workflows where id = %s", [wid])
    [(steps,)] = db.execute("select steps from durable.claim('replayer', array[%s])",
                            [q]).fetchall()
    [step] = json.loads(steps)
    assert step["error"] is not None, f"the failed step replays as a success: {step}"


def test_complete_documents_the_error_it_raises_for_a_null_lease(db):
    """Regression (found by these runs, fixed in complete's comment): DU010 from durable.fence
    was not among the errors complete documents."""
    _, wid, _ = claimed(db)
    with pytest.raises(psycopg.Error) as raised:
        db.execute("select durable.complete(%s, null)", [wid])
    assert raised.value.sqlstate in db.documented["complete"]


# Regression (found by the fault runs): fail_batch calls array_position on p_errors, which raises
# 0A000 (feature not supported) for a multidimensional array. Fixed in SQL: check_batch refuses
# arrays with array_ndims > 1 with DU011
def test_fail_batch_refuses_multidimensional_arrays_with_du011(db):
    _, wid, lease = claimed(db)
    with pytest.raises(psycopg.Error) as raised:
        db.execute("select * from durable.fail_batch(%s::text[], %s::bigint[], %s::jsonb[])",
                   [[[wid, "x"], ["y", "z"]], [[lease, 1], [2, 3]], [["1", "2"], ["3", "4"]]])
    assert raised.value.sqlstate == "DU011"


# Regression, found by the review of the waiting functions (issue 10), the same defect as
# fail_batch's: await_children called array_position on p_children before it checked
# array_ndims, so a two-dimensional array raised 0A000 (feature not supported) instead of
# DU011. (The property builds one-dimensional arrays only.)
def test_await_children_refuses_multidimensional_arrays_with_du011(db):
    _, wid, lease = claimed(db)
    with pytest.raises(psycopg.Error) as raised:
        db.execute("select * from durable.await_children(%s, %s, 0, %s::text[])",
                   [wid, lease, [["a", "b"], ["c", "d"]]])
    assert raised.value.sqlstate == "DU011", raised.value


# --- the contracts of issue 11's functions ---------------------------------------------------

def check_purged(count, before, after, d) -> set:
    """A purge: count finished workflows deleted with their steps, errors, waits, messages and
    events, none while its parent or a child of it was unfinished (the parent may still await
    it; a cancel of the parent still reaches the child); their children forget their parent.
    Returns the deleted ids."""
    W, S = "workflows", "steps"
    Wb, Wa, Sb = before.rows[W], after.rows[W], before.rows[S]
    only(d, W, S, "errors", "waits", "messages", "events")
    gone = d.removed[W]
    assert count == len(gone) and not d.added[W]
    # the children of purged workflows forget their parent (on delete set null)
    assert d.changed[W] == {w for w in Wa if Wb[w].parent_id in gone}
    assert all(Wa[w].parent_id is None for w in d.changed[W])
    for table in ("waits", "messages", "events"):
        assert d.removed[table] == {k for k, r in before.rows[table].items()
                                    if (k[0] if table == "waits" else r.workflow_id) in gone}
        assert not d.added[table] and not d.changed[table]
    assert all(Wb[w].status in FINISHED for w in gone)
    assert d.removed[S] == {k for k in Sb if k[0] in gone}
    assert d.removed["errors"] == {
        k for k, e in before.rows["errors"].items() if e.workflow_id in gone}
    assert not d.added[S] and not d.changed[S]
    assert not d.added["errors"] and not d.changed["errors"]
    return gone


def check_families_kept(before, gone) -> None:
    """The bulk purges (bulk.sql) keep a family while a member is unfinished: no workflow
    deleted while its parent or a child of it was unfinished."""
    Wb = before.rows["workflows"]
    for w in gone:
        parent = Wb.get(Wb[w].parent_id)
        assert parent is None or parent.status not in UNFINISHED, \
            f"{w} purged while its parent is {parent.status}"
        assert not any(r.parent_id == w and r.status in UNFINISHED for r in Wb.values()), \
            f"{w} purged while a child of it is unfinished"


BULK_STATUSES = {"purge_where": FINISHED, "cancel_where": UNFINISHED, "retry_where": ("failed",)}


def matching(db, fn, args, Wb, ids) -> set:
    """The workflows of ids that match every filter of a bulk call (status, queue, name, and the
    time ranges, compared in SQL as the function reads them)."""
    statuses = value(args, "p_status") or BULK_STATUSES[fn]
    queue, name = value(args, "p_queue"), value(args, "p_name")
    found = sorted(w for w in ids if Wb[w].status in statuses and queue in (None, Wb[w].queue)
                   and name in (None, Wb[w].name))
    if not found:
        return set()
    rows = db.execute("""
        select u.id from unnest(%(ids)s::text[], %(c)s::timestamptz[], %(f)s::timestamptz[])
               as u(id, c, f)
         where (%(ca)s::timestamptz is null or u.c >= %(ca)s::timestamptz)
           and (%(cb)s::timestamptz is null or u.c < %(cb)s::timestamptz)
           and (%(fa)s::timestamptz is null or u.f >= %(fa)s::timestamptz)
           and (%(fb)s::timestamptz is null or u.f < %(fb)s::timestamptz)""", {
        "ids": found, "c": [Wb[w].created_at for w in found],
        "f": [Wb[w].finished_at for w in found],
        "ca": value(args, "p_created_after"), "cb": value(args, "p_created_before"),
        "fa": value(args, "p_finished_after"), "fb": value(args, "p_finished_before")}).fetchall()
    return {r[0] for r in rows}


def finished_before(db, now, older_than, finished: list) -> bool:
    """Every time of finished is more than older_than before now."""
    if not finished:
        return True
    [(ok,)] = db.execute("select bool_and(f < %s::timestamptz - %s::interval)"
                         " from unnest(%s::timestamptz[]) f", [now, older_than, finished]
                         ).fetchall()
    return ok


def check_bulk(fn, args, rows, before, after, d, extra) -> None:
    """Retention and the bulk operations: they change or delete only rows that match their
    filter, at most p_limit (the retention batch for housekeep) per call; a dry run writes
    nothing."""
    W, S = "workflows", "steps"
    Wb, Wa, Sb = before.rows[W], after.rows[W], before.rows[S]
    db = extra["db"]
    [(count, more)] = rows
    limit = as_int(value(args, "p_limit", "1000"))
    if fn == "housekeep":
        succeeded, failed, batch = extra["retention"]
        gone = check_purged(count, before, after, d)
        check_families_kept(before, gone)
        assert count <= batch and (more is False or count == batch)
        for status, retain in (("succeeded", succeeded), ("failed", failed),
                               ("cancelled", failed)):
            old = [Wb[w].finished_at for w in gone if Wb[w].status == status]
            assert not old or (retain and finished_before(db, after.now, retain, old)), \
                f"{status} workflows purged, retention {retain}"
        event(f"housekeep purged {min(count, 2)}+")
        return
    if fn == "purge_batch":
        gone = check_purged(count, before, after, d)
        check_families_kept(before, gone)
        assert count <= limit
        assert finished_before(db, after.now, value(args, "p_older_than"),
                               [Wb[w].finished_at for w in gone]), \
            "a workflow purged that finished less than p_older_than ago"
        event(f"purge_batch purged {min(count, 2)}+")
        return
    if as_bool(value(args, "p_dry_run")):
        only(d)
        assert more is False
        # how many match now (cancel: descendants not counted; purge: families kept)
        if fn == "retry_where":
            assert count == len(matching(db, fn, args, Wb, Wb))
        return
    event(f"{fn}: {min(count, 2)}+")
    if fn == "purge_where":
        gone = check_purged(count, before, after, d)
        check_families_kept(before, gone)
        assert count <= limit and gone == matching(db, fn, args, Wb, gone)
    elif fn == "cancel_where":
        only(d, W, "waits")
        assert not d.added[W] and not d.removed[W]
        cancelled = {w for w in d.changed[W] if Wa[w].status == "cancelled"}
        chosen = matching(db, fn, args, Wb, cancelled)
        # each chosen one is cancelled as durable.cancel does: with its unfinished descendants
        # (not detached ones), waking a waiting parent
        check_knock_on(before, after, d, set(), roots=chosen)
        assert len({w for w in chosen if not descends(Wb, w, chosen)}) <= limit
        assert count == len(cancelled)
    else:  # retry_where
        only(d, W, S)
        changed = d.changed[W]
        assert not d.added[W] and not d.removed[W]
        assert count == len(changed) <= limit
        assert changed == matching(db, fn, args, Wb, changed)
        for w in changed:
            assert (Wa[w].status, Wa[w].attempt, Wa[w].finished_at) == (
                "pending", Wb[w].attempt + 1, None)
        assert d.removed[S] == {k for k, s in Sb.items() if k[0] in changed and s.is_error}
        assert not d.added[S] and not d.changed[S]


def check_start_children(args, rows, before, after, d) -> None:
    """start_children: fenced like start_child; adds its children (parent set, pending) that did
    not exist yet and one step recording their ids, or replays the recorded step."""
    W, S = "workflows", "steps"
    Wb, Wa, Sb, Sa = before.rows[W], after.rows[W], before.rows[S], after.rows[S]
    wid, lease = value(args, "p_workflow_id"), as_int(value(args, "p_lease"))
    step = as_int(value(args, "p_step_id"))
    key = (wid, str(step))
    name = value(args, "p_step_name", "durable.start_children")
    [(output,)] = rows
    assert (Wb[wid].status, Wb[wid].lease) == ("running", lease) and not Wb[wid].overdue
    if key in Sb:
        event("start_children: replayed")
        assert not d.tables_touched(), "a replay wrote"
        assert (Sb[key].name, Sb[key].output) == (name, md5_or_none(output))
        return
    event("start_children: started")
    only(d, W, S)
    assert d.added[S] == {key} and not d.changed[S] and not d.removed[S]
    assert (Sa[key].name, Sa[key].output, Sa[key].is_error) == (name, md5_or_none(output), False)
    kids = json.loads(value(args, "p_children"))
    got = json.loads(output)["workflow_ids"]
    assert len(got) == len(kids) == len(set(got))
    for n, (kid, child) in enumerate(zip(kids, got), 1):
        default = f"{wid}-{step}-{n}"
        if len(default) > 200:
            default = f"child-{hashlib.md5(wid.encode()).hexdigest()}-{step}-{n}"
        assert child == (kid.get("workflow_id") or default)
        row = (Wb | Wa)[child]
        assert (row.parent_id, row.name) == (wid, kid["name"])
        if child not in Wb:
            assert (row.status, row.detached) == ("pending", bool(kid.get("detached")))
            if kid.get("queue") is not None:
                assert row.queue == kid["queue"]
    assert d.added[W] == set(got) - set(Wb) and not d.changed[W] and not d.removed[W]


def check_schedule(fn, args, rows, before, after, d) -> None:
    """The schedule functions: set_schedule adds or changes one schedule row; pause, resume
    and drop change or delete the one named; trigger starts one workflow sched:<name>:trigger:...
    and notes it; materialize_schedules starts only workflows sched:<name>:<tick> of enabled due
    schedules and changes only schedule rows; cron_next writes nothing."""
    W, C = "workflows", "schedules"
    Wa, Cb, Ca = after.rows[W], before.rows[C], after.rows[C]
    name = value(args, "p_name")
    if fn == "cron_next":
        only(d)
        [(tick,)] = rows
        event(f"cron_next: {'a tick' if tick else 'never'}")
        return
    if fn == "materialize_schedules":
        only(d, W, C)
        [(started,)] = rows
        assert started == len(d.added[W]) <= as_int(value(args, "p_limit", "1000"))
        assert not d.changed[W] and not d.removed[W]
        assert not d.added[C] and not d.removed[C]
        for wid in d.added[W]:
            m = re.fullmatch(r"sched:(.+):\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", wid)
            assert m and m.group(1) in Cb, f"{wid} is no tick of a schedule"
            sched = Cb[m.group(1)]
            assert sched.enabled and sched.next_tick is not None
            assert (Wa[wid].status, Wa[wid].name) == ("pending", sched.workflow_name)
        for s in d.changed[C]:
            assert Cb[s].enabled and Ca[s].enabled and Cb[s].next_tick is not None
        event(f"materialize_schedules: {min(started, 2)}+ started")
        return
    if fn == "trigger_schedule":
        only(d, W, C)
        [(wid,)] = rows
        assert wid.startswith(f"sched:{name}:trigger:")
        assert d.added[W] == {wid} and not d.changed[W] and not d.removed[W]
        assert (Wa[wid].status, Wa[wid].name) == ("pending", Cb[name].workflow_name)
        assert d.touched(C) == {name} and Ca[name].last_workflow_id == wid
        assert Ca[name].next_tick == Cb[name].next_tick
        return
    only(d, C)
    if fn == "drop_schedule":
        [(existed,)] = rows
        assert existed == (name in Cb)
        assert d.removed[C] == ({name} if existed else set())
        assert not d.added[C] and not d.changed[C]
        return
    assert d.touched(C) <= {name} and not d.removed[C]
    row, old = Ca[name], Cb.get(name)
    if fn == "pause_schedule":
        assert rows == [("paused",)] and (row.enabled, row.next_tick) == (False, None)
        if not old.enabled:
            assert not d.tables_touched()
    elif fn == "resume_schedule":
        [(tick,)] = rows
        assert row.enabled and (tick is None) == (row.next_tick is None)
        if old.enabled:
            assert not d.tables_touched() and row.next_tick == old.next_tick
    else:  # set_schedule: only the settings given change (null keeps one)
        [(created, tick)] = rows
        assert created == (old is None) and d.touched(C) == {name}
        for column, default in (("cron", None), ("workflow_name", None), ("queue", None),
                                ("time_zone", "UTC"), ("missed", "skip")):
            given = value(args, f"p_{column}")
            kept = getattr(old, column) if old else default
            assert getattr(row, column) == (kept if given is None else given), column
        enabled = as_bool(value(args, "p_enabled"))
        assert row.enabled == ((old.enabled if old else True) if enabled is None else enabled)
        assert (tick is None) == (row.next_tick is None) == (not row.enabled)
        if old and old.cron == row.cron and old.time_zone == row.time_zone and old.enabled \
                and row.enabled:
            assert row.next_tick == old.next_tick, "the next tick changed, the cron did not"
