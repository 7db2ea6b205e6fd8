"""Shard-aware clients and workers for a sharded durable deployment (README: Scaling past one
Postgres).

A sharded deployment is N ordinary durable databases, each made a shard with
durable.set_shard (its number and the logical shards it owns), and optionally a PL/Proxy router
(sql/router.sql) that has the single-server API. Workflow ids map to 256 logical shards by
shard_key (the same rule as the SQL's durable.shard_key); each logical shard lives on one
shard. This module gives:

  shard_key(id)        the logical shard (0..255) of a workflow id, computed here (no query)
  ShardMap             the shards' DSNs and which one owns each logical shard, read from their
                       durable.shard_info(); dsn_for(id) / index_for(id) say where an id lives,
                       so a caller can enqueue in its own transaction on the right shard
  ShardedWorker        one durable.Worker per shard, run together: each claims from its own
                       shard, sends every later call for what it claimed there (checkpoints,
                       completion, waits, children), and LISTENs there

Fairness and priority across shards: every shard has its own slots (concurrency per shard), so
no shard is starved by another's backlog, and a busy shard cannot take another's slots either.
Priority, FIFO order, queue limits, rate limits and per-key concurrency hold per shard: a
high-priority workflow is claimed before the lower ones of its own shard, not before those of
another shard (their slots are separate). Workers reach the shards directly, not through the
router: the router adds a network hop and a PL/Proxy call per statement (bench/shard_bench.py).
"""

from __future__ import annotations

import hashlib
import logging
import re
import signal
import threading
from collections.abc import Sequence
from typing import Any

import psycopg

from .app import Durable
from .worker import Worker, default_worker_id

log = logging.getLogger("durable.sharding")

LOGICAL_SHARDS = 256  # durable.shard_info().logical_count

_UUID_ROOT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SCHED_TICK = re.compile(r"sched:(.+):[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
                         re.DOTALL)


def shard_key(workflow_id: str) -> int:
    """The logical shard (0..255) of a workflow id: durable.shard_key's rule. An id that starts
    with a canonical lowercase UUID: the UUID's last byte; sched:<name>:<tick>: the rule on
    <name>; any other id: the first byte of its MD5 (of its UTF-8 bytes)."""
    if _UUID_ROOT.match(workflow_id):
        return int(workflow_id[34:36], 16)
    tick = _SCHED_TICK.fullmatch(workflow_id)
    if tick:
        workflow_id = tick.group(1)
    return hashlib.md5(workflow_id.encode()).digest()[0]


class ShardMap:
    """Which shard owns each logical shard: dsns[i] is shard i's connection string."""

    def __init__(self, dsns: Sequence[str], owners: Sequence[int]):
        if len(owners) != LOGICAL_SHARDS:
            raise ValueError(f"a map names the owner of each of {LOGICAL_SHARDS} logical shards")
        self.dsns = list(dsns)
        self.owners = list(owners)  # logical shard -> index into dsns

    @classmethod
    def from_dsns(cls, dsns: Sequence[str]) -> ShardMap:
        """Read each shard's durable.shard_info() (one connection each, closed after).
        ValueError when one is not a shard, or the logical shards are not covered exactly once
        (durable_router.set_shards makes the same check)."""
        owners: list[int | None] = [None] * LOGICAL_SHARDS
        for index, dsn in enumerate(dsns):
            with psycopg.connect(dsn, autocommit=True) as conn:
                row = conn.execute("select logical from durable.shard_info()").fetchone()
            if row is None:
                raise ValueError(f"shard {index} is not a shard (run durable.set_shard there)")
            for logical in row[0]:
                if owners[logical] is not None:
                    raise ValueError(f"logical shard {logical} is owned by shards "
                                     f"{owners[logical]} and {index}")
                owners[logical] = index
        missing = [k for k, o in enumerate(owners) if o is None]
        if missing:
            raise ValueError(f"no shard owns logical shards {missing[:10]}"
                             f"{' ...' if len(missing) > 10 else ''}")
        return cls(dsns, [o for o in owners if o is not None])

    def index_for(self, workflow_id: str) -> int:
        """The index (into dsns) of the shard where workflow_id lives."""
        return self.owners[shard_key(workflow_id)]

    def dsn_for(self, workflow_id: str) -> str:
        """The DSN of the shard where workflow_id lives: connect there to enqueue it in your
        own transaction, or to run a transactional step's writes next to its checkpoint."""
        return self.dsns[self.index_for(workflow_id)]


class ShardedWorker:
    """Runs app's workflows from every shard: one durable.Worker per DSN (worker id
    <worker_id>-s<i>), each with its own slots (concurrency is per shard), run in threads of
    this process. stop() stops them all; run() returns when all have stopped. The options are
    Worker's."""

    def __init__(self, app: Durable, dsns: Sequence[str], *, worker_id: str | None = None,
                 **options: Any):
        if not dsns:
            raise ValueError("a sharded worker needs at least one shard DSN")
        base = worker_id or default_worker_id()
        self.workers = [Worker(app, dsn=dsn, worker_id=f"{base}-s{i}", **options)
                        for i, dsn in enumerate(dsns)]
        self._errors: list[BaseException] = []

    def stop(self, hurry: bool = False) -> None:
        """Ask every shard's worker to stop (see Worker.stop)."""
        for w in self.workers:
            w.stop(hurry)

    def _on_signal(self, signum: int, frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        self.stop()

    def run(self, install_signals: bool = True) -> None:
        """Run every shard's worker until stop() (or SIGTERM/SIGINT when install_signals); the
        first error of one of them stops the others and is raised."""
        if install_signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        threads = [threading.Thread(target=self._run_one, args=(w,), daemon=True,
                                    name=f"durable-shard-{i}")
                   for i, w in enumerate(self.workers)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # (a plain join would keep signals from the main thread)
        if self._errors:
            raise self._errors[0]

    def _run_one(self, worker: Worker) -> None:
        try:
            worker.run(install_signals=False)
        except BaseException as exc:  # noqa: BLE001 - handed to run()
            log.error("worker %s stopped: %s", worker.worker_id, exc)
            self._errors.append(exc)
            self.stop(hurry=True)

    def leftover_threads(self) -> bool:
        """True when a slot of some shard's worker is still inside a released step."""
        return any(w.leftover_threads() for w in self.workers)
