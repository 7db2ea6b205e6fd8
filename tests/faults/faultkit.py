"""Shared helpers of the fault tests: connections, before/after snapshots of durable's tables,
the errors a call may raise, blocking probes and the lock orders documented in deploy/*.sql."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
import time
from collections import namedtuple
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.types.string import TextLoader

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

EXAMPLES = int(os.environ.get("DURABLE_FAULTS_EXAMPLES", "30"))
SEED = os.environ.get("DURABLE_FAULTS_SEED")  # set: explore from this seed, not the fixed one
ITERATIONS = int(os.environ.get("DURABLE_FAULTS_ITERATIONS", "100"))


def connect(dsn: str, autocommit: bool = True) -> psycopg.Connection:
    """A connection whose json and jsonb results stay text: Python's json module cannot decode
    the 10,000-deep arrays the tests store, and the tests compare JSON as Postgres prints it."""
    conn = psycopg.connect(dsn, autocommit=autocommit)
    conn.adapters.register_loader("jsonb", TextLoader)
    conn.adapters.register_loader("json", TextLoader)
    conn.execute("set statement_timeout = '60s'")
    # the heap-page probes look expensive to the planner, and JIT compiling them costs more
    # than running them
    conn.execute("set jit = off")
    if not autocommit:
        conn.commit()
    return conn


# --- what a call may raise -------------------------------------------------------------------

def acceptable_sqlstate(sqlstate: str | None) -> bool:
    """A refusal the contract allows: durable's own DUxxx, or a standard Postgres error about the
    data (class 22), a constraint (23), a type the driver sent that no function takes
    (42804, 42883) or a limit (54: too deep, too big). Never XX000 (internal error), never a
    lost connection (no SQLSTATE at all)."""
    if sqlstate is None:
        return False
    return sqlstate.startswith(("DU", "22", "23", "54")) or sqlstate in ("42804", "42883")


def documented_errors(conn: psycopg.Connection) -> dict[str, set[str]]:
    """The DUxxx codes each public function's `comment on function` lists after "Errors:",
    following "those of durable.f" (and "... and of durable.g") to their lists."""
    rows = conn.execute(
        "select p.proname, obj_description(p.oid, 'pg_proc') from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'durable'"
    ).fetchall()
    text = {name: (comment or "") for name, comment in rows}

    def codes(name: str, seen: frozenset = frozenset()) -> set[str]:
        errors = text.get(name, "").partition("Errors:")[2]
        found = set(re.findall(r"DU\d{3}", errors))
        # "those of durable.f", "those of durable.f and of durable.g"
        others = [g for m in re.finditer(
                      r"those of (durable\.\w+(?:(?:,\s*|\s+and\s+(?:of\s+)?)durable\.\w+)*)",
                      errors)
                  for g in re.findall(r"durable\.(\w+)", m.group(1))]
        for other in others:
            if other not in seen:
                found |= codes(other, seen | {name})
        return found

    return {name: codes(name) for name in text}


# --- snapshots -------------------------------------------------------------------------------

# One digest per row (md5 of the whole row as text) keyed by primary key, plus the columns the
# contracts look at. Outputs, errors and inputs are compared through their md5.
SNAPSHOT_SQL = {
    "workflows": """
        select w.id, md5(w::text) as digest, w.name, w.queue, w.status, w.owner, w.lease,
               w.attempt, md5(w.output::text) as output, md5(w.error::text) as error,
               w.finished_at, w.parent_id, w.detached, w.watched,
               -- as text: run_at is infinity while a wait without a deadline parks, and a
               -- deadline may be years Python's datetime cannot hold
               w.run_at::text as run_at, w.deadline::text as deadline,
               w.deadline <= clock_timestamp() as overdue, w.created_at
          from durable.workflows w""",
    "steps": """
        select array[s.workflow_id, s.step_id::text], md5(s::text) as digest, s.name,
               md5(s.output::text) as output, md5(s.error::text) as error,
               s.error is not null as is_error
          from durable.steps s""",
    "errors": """
        select e.id, md5(e::text) as digest, e.workflow_id, e.step_id, e.attempt,
               md5(e.error::text) as error
          from durable.errors e""",
    "workers": "select k.id, md5(k::text) as digest, k.expires_at from durable.workers k",
    "queues": """
        select q.name, md5(q::text) as digest, q.concurrency, q.paused from durable.queues q""",
    "settings": "select s.singleton, md5(s::text) as digest from durable.settings s",
    "workflow_types": """
        select t.name, md5(t::text) as digest, t.timeout from durable.workflow_types t""",
    # waiting (issue 10): the terms and the state of each wait, messages and their consumption,
    # events
    "waits": """
        select array[t.workflow_id, t.step_id::text], md5(t::text) as digest, t.name, t.kind,
               t.topic, t.target, t.children, t.deadline::text as deadline, t.parked_at, t.woken_at,
               t.resolved_at, t.outcome
          from durable.waits t""",
    "messages": """
        select m.id, md5(m::text) as digest, m.workflow_id, m.topic, md5(m.message::text)
               as message, m.idempotency_key, m.sender, m.consumed_at, m.consumed_step
          from durable.messages m""",
    "events": """
        select e.id, md5(e::text) as digest, e.workflow_id, e.key, md5(e.value::text) as value,
               e.step_id
          from durable.events e""",
    # flow control (issue 11): the start slots of rate-limited queues
    "queue_starts": """
        select r.queue || ':' || r.slot, md5(r::text) as digest, r.queue, r.slot, r.at
          from durable.queue_starts r""",
    "worker_registrations": """
        select g.worker, md5(g::text) as digest from durable.worker_registrations g""",
    # schedules (issue 11)
    "schedules": """
        select s.name, md5(s::text) as digest, s.cron, s.time_zone, s.workflow_name,
               md5(s.input::text) as input, s.queue, s.enabled, s.missed, s.grace,
               s.next_tick::text as next_tick, s.last_tick::text as last_tick,
               s.last_workflow_id, s.last_error
          from durable.schedules s""",
}


@dataclass
class Snapshot:
    """Every row of durable's tables as {table: {primary key: Row(digest, columns...)}}, taken
    in one transaction, and the time it was taken."""

    rows: dict[str, dict]
    now: object

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.rows.items()}

    def outputs_hash(self) -> str:
        """md5 of the recorded outputs and errors of every step and workflow."""
        parts = sorted(f"s{k}:{v.output}:{v.error}" for k, v in self.rows["steps"].items())
        parts += sorted(f"w{k}:{v.output}:{v.error}" for k, v in self.rows["workflows"].items())
        parts += sorted(f"m{k}:{v.message}" for k, v in self.rows["messages"].items())
        parts += sorted(f"e{k}:{v.value}" for k, v in self.rows["events"].items())
        return hashlib.md5("\n".join(parts).encode()).hexdigest()

    def summary(self) -> str:
        return f"counts {self.counts()}, outputs {self.outputs_hash()}"


def snapshot(conn: psycopg.Connection) -> Snapshot:
    """All tables in one round trip: the statements of one simple query run in one implicit
    transaction and each returns its own result set."""
    cur = conn.cursor()
    cur.execute(";\n".join([*SNAPSHOT_SQL.values(), "select clock_timestamp()"]))
    rows = {}
    for table in SNAPSHOT_SQL:
        names = [c.name for c in cur.description][1:]
        row_type = _row_type(table, tuple(names))
        rows[table] = {
            (tuple(key) if isinstance(key, list) else key): row_type(*rest)
            for key, *rest in cur.fetchall()
        }
        cur.nextset()
    now = cur.fetchone()[0]
    return Snapshot(rows, now)


@functools.cache
def _row_type(table: str, names: tuple[str, ...]):
    return namedtuple(f"{table}_row", names)


@dataclass
class Diff:
    added: dict[str, set] = field(default_factory=dict)
    removed: dict[str, set] = field(default_factory=dict)
    changed: dict[str, set] = field(default_factory=dict)

    def touched(self, table: str) -> set:
        return self.added[table] | self.removed[table] | self.changed[table]

    def tables_touched(self) -> set[str]:
        return {t for t in self.added if self.touched(t)}

    def describe(self) -> str:
        return "; ".join(
            f"{t}: +{sorted(map(str, self.added[t]))} -{sorted(map(str, self.removed[t]))} "
            f"~{sorted(map(str, self.changed[t]))}"
            for t in sorted(self.tables_touched())
        ) or "nothing"


def diff(before: Snapshot, after: Snapshot) -> Diff:
    d = Diff()
    for table in before.rows:
        b, a = before.rows[table], after.rows[table]
        d.added[table] = set(a) - set(b)
        d.removed[table] = set(b) - set(a)
        d.changed[table] = {k for k in set(a) & set(b) if a[k].digest != b[k].digest}
    return d


WIPE_SQL = """
delete from durable.workflows;
delete from durable.workers;
delete from durable.worker_registrations;
delete from durable.schedules;
delete from durable.queue_starts;
update durable.settings set retain_succeeded = null, retain_failed = null, purge_batch = 1000
 where retain_succeeded is not null or retain_failed is not null or purge_batch <> 1000;
delete from durable.queues where name <> 'default';
update durable.queues set concurrency = null, paused = false
 where name = 'default' and (concurrency is not null or paused)
"""


def wipe(conn: psycopg.Connection) -> None:
    """Empty durable's tables (steps, errors, waits, messages and events go with their
    workflows; schedules, registrations and rate-limit windows too), keeping queue default (no
    limit, not paused) and the default settings (no retention): each bad-input example starts
    from a known, small state."""
    conn.execute(WIPE_SQL)


# --- two sessions ----------------------------------------------------------------------------

def session(dsn: str) -> psycopg.Connection:
    """A racing session: autocommit off (explicit transactions), deadlock_timeout 10ms so a
    deadlock is reported at once, generous lock and statement timeouts."""
    conn = connect(dsn, autocommit=False)
    conn.execute("set deadlock_timeout = '10ms'")
    conn.execute("set lock_timeout = '20s'")
    conn.execute("set statement_timeout = '30s'")
    conn.commit()
    return conn


@dataclass
class Outcome:
    """What one session's transaction ended with: rows, or the SQLSTATE it raised."""

    rows: list | None = None
    sqlstate: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.sqlstate is None

    def __repr__(self) -> str:
        return f"Outcome(rows={self.rows!r})" if self.ok else f"Outcome({self.sqlstate}: {self.message})"


def run_tx(conn: psycopg.Connection, query: str, args=(), commit: bool = True) -> Outcome:
    """Run one statement in a transaction of its own; commit (or leave open) when it succeeds,
    roll back when it raises."""
    try:
        rows = conn.execute(query, args).fetchall()
    except psycopg.Error as e:
        conn.rollback()
        return Outcome(sqlstate=e.sqlstate, message=str(e).splitlines()[0] if str(e) else "")
    if commit:
        conn.commit()
    return Outcome(rows=rows)


class Background:
    """Runs run_tx on a thread, so the test can look at the session while it waits."""

    def __init__(self, conn: psycopg.Connection, query: str, args=(), barrier=None):
        self.conn, self.query, self.args, self.barrier = conn, query, args, barrier
        self.outcome: Outcome | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        if self.barrier is not None:
            self.barrier.wait()
        self.outcome = run_tx(self.conn, self.query, self.args)

    def join(self, timeout: float = 30) -> Outcome:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"session still running after {timeout}s: {self.query}"
        return self.outcome


def race(a: psycopg.Connection, qa: str, aa, b: psycopg.Connection, qb: str, ab):
    """Start both statements at the same moment (a barrier), each in its own transaction."""
    barrier = threading.Barrier(2)
    ta, tb = Background(a, qa, aa, barrier), Background(b, qb, ab, barrier)
    return ta.join(), tb.join()


def blocked_by(obs: psycopg.Connection, waiter: psycopg.Connection, holder,
               job: Background | None = None, timeout: float = 10) -> bool:
    """Wait until the waiter's backend waits for a lock that the holder's backend (or any of a
    list of holders) holds, as pg_blocking_pids says; False if the waiter's statement ended
    first or time ran out."""
    deadline = time.monotonic() + timeout
    holders = holder if isinstance(holder, (list, tuple)) else [holder]
    hpids = {h.info.backend_pid for h in holders}
    wpid = waiter.info.backend_pid
    while time.monotonic() < deadline:
        if hpids & set(obs.execute("select pg_blocking_pids(%s)", [wpid]).fetchone()[0]):
            return True
        if job is not None and not job.thread.is_alive():
            return False
        time.sleep(0.005)
    return False


def not_blocked(obs: psycopg.Connection, job: Background, timeout: float = 10) -> bool:
    """True when the job's statement finished without ever being seen waiting for a lock."""
    deadline = time.monotonic() + timeout
    pid = job.conn.info.backend_pid
    while time.monotonic() < deadline:
        if not job.thread.is_alive():
            return True
        if obs.execute("select cardinality(pg_blocking_pids(%s)) > 0", [pid]).fetchone()[0]:
            return False
        time.sleep(0.005)
    return False


# --- which rows a session wrote or locked ----------------------------------------------------

TABLES = ("workers", "queues", "workflows", "steps", "errors", "waits", "messages", "events")

# Tuples of a table whose xmin (inserted, new row version) or xmax (deleted, updated, locked,
# also as a member of a multixact) is the given transaction. Uncommitted rows are invisible to
# other sessions' snapshots, so this reads the heap pages themselves (pageinspect).
_TOUCHED_SQL = """
select count(*)
  from generate_series(0, (pg_relation_size(%(rel)s::regclass)
                           / current_setting('block_size')::int)::int - 1) as blk,
       lateral heap_page_items(get_raw_page(%(rel)s::text, blk::int)) t
 where t.lp_flags = 1
   and (t.t_xmin = %(xid)s::xid
        or ((t.t_infomask & 2048) = 0 and (t.t_infomask & 4096) = 0 and t.t_xmax = %(xid)s::xid)
        or ((t.t_infomask & 2048) = 0 and (t.t_infomask & 4096) <> 0
            and exists (select 1 from pg_get_multixact_members(t.t_xmax) m
                         where m.xid = %(xid)s::xid)))
"""


def touched_tables(obs: psycopg.Connection, conn: psycopg.Connection) -> set[str]:
    """The durable tables in which the session's open transaction has written or locked a row."""
    xid = obs.execute("select backend_xid::text from pg_stat_activity where pid = %s",
                      [conn.info.backend_pid]).fetchone()[0]
    if xid is None:
        return set()
    return {t for t in TABLES
            if obs.execute(_TOUCHED_SQL, {"rel": f"durable.{t}", "xid": xid}).fetchone()[0]}


def waited_tuple_relations(obs: psycopg.Connection, conn: psycopg.Connection) -> set[str]:
    """Tables of the row locks (locktype tuple) the session holds or awaits while it waits for
    another transaction: the table of the row it is queued for. Empty for a unique-key wait."""
    rows = obs.execute(
        "select c.relname from pg_locks l join pg_class c on c.oid = l.relation"
        " where l.pid = %s and l.locktype = 'tuple'", [conn.info.backend_pid]).fetchall()
    return {r[0] for r in rows}


# --- the documented lock orders --------------------------------------------------------------

_TABLE_WORDS = [
    ("workers", r"\bworkers?\b|\bworker's\b"),
    ("queues", r"\bqueues?\b"),
    ("workflows", r"\bworkflows?\b"),
    ("steps", r"\bsteps?\b"),
    ("errors", r"\berrors?\b"),
]


def _tables_in(text: str) -> list[str]:
    """The tables a lock-order sentence names, in the order it names them."""
    text = re.sub(r"\([^()]*\)", " ", text)  # parentheses explain how, not what
    hits = []
    for table, pattern in _TABLE_WORDS:
        hits += [(m.start(), table) for m in re.finditer(pattern, text, flags=re.IGNORECASE)]
    order = []
    for _, table in sorted(hits):
        if not order or order[-1] != table:
            order.append(table)
    return order


def documented_lock_orders() -> dict[str, list[str]]:
    """{deploy file stem: [tables in lock order]} from the comment paragraph of each deploy/*.sql
    that starts with "Lock order" (any case), up to the next empty comment line."""
    orders = {}
    for path in sorted(DEPLOY.glob("*.sql")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            body = line.lstrip("- ").strip()
            if not line.startswith("--") or not body.lower().startswith("lock order"):
                continue
            paragraph = [body.split(":", 1)[1] if ":" in body else ""]
            for more in lines[i + 1:]:
                rest = more.lstrip("-").strip()
                if not more.startswith("--") or not rest:
                    break
                paragraph.append(rest)
            orders[path.stem] = _tables_in(" ".join(paragraph))
            break
    return orders


def global_lock_order() -> list[str]:
    """The order every function of durable promises (workers.sql: "every function of durable
    takes locks in this order")."""
    for path in sorted(DEPLOY.glob("*.sql")):
        text = path.read_text()
        m = re.search(r"--\s*Lock order \(every function[^\n]*\n--\s*([^\n]+)", text, flags=re.IGNORECASE)
        if m:
            return [part.strip().split()[0] for part in m.group(1).split("->")]
    raise AssertionError("no deploy/*.sql documents the global lock order")
