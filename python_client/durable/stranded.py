"""Runs a worker will never take because they are pinned to another code version.

A run is pinned to the version of the worker that first claimed it (durable.workflows.version,
from durable.register's p_version; README: "versions"), and only workers of that version claim
it again. When no worker of that version is left (the app module was edited and every worker
restarted), its runs stay `running` for their dead worker, or `pending`, for ever. The worker
does not change that (it is on purpose: new code must not replay old steps); it says so in its
log: at its first heartbeat, then at most every CHECK_EVERY seconds, while there are any.

One query over the views durable.runs and durable.worker_status (granted to durable_worker):
runs of the names and queues the worker serves, of another (non-null) version, that are
running for a worker that is no longer alive, or pending with their run time more than
PENDING_FOR ago (a live worker of their version would have taken them by then, unless it is
busy: the message says "unless").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import psycopg

log = logging.getLogger("durable.worker")

CHECK_EVERY = 300.0  # seconds between two checks (and two warnings)
PENDING_FOR = timedelta(minutes=1)

_QUERY = """
select r.version, count(*) filter (where r.status = 'running') as running,
       count(*) filter (where r.status = 'pending') as pending
  from durable.runs r
 where r.name = any(%(names)s) and r.queue = any(%(queues)s)
   and r.version is not null and r.version is distinct from %(version)s
   and (r.status = 'pending' and r.run_at < now() - %(pending_for)s
        or r.status = 'running' and not exists (
             select 1 from durable.worker_status w where w.id = r.owner and w.alive))
 group by r.version
 order by count(*) desc, r.version
 limit 20
"""


def stranded(conn: psycopg.Connection, names: Sequence[str], queues: Sequence[str],
             version: str | None) -> list[tuple[str, int, int]]:
    """(version, running for a dead worker, pending) per other version, most runs first (at
    most 20 versions)."""
    rows: list[Any] = conn.execute(_QUERY, {"names": list(names), "queues": list(queues),
                                            "version": version,
                                            "pending_for": PENDING_FOR}).fetchall()
    return [(str(v), int(running), int(pending)) for v, running, pending in rows]


def message(found: list[tuple[str, int, int]], version: str | None) -> str:
    """The warning for what stranded() found."""
    total = sum(running + pending for _, running, pending in found)
    parts = ", ".join(
        f"{v}: " + " and ".join(p for p in (f"{running} running for a dead worker" if running
                                             else "", f"{pending} pending" if pending else "")
                                if p)
        for v, running, pending in found)
    return (f"{total} run{'' if total == 1 else 's'} of the workflows this worker serves "
            f"{'is' if total == 1 else 'are'} pinned to other versions ({parts}) and this "
            f"worker (version {version}) never takes them: unless a worker of such a version "
            "runs, start one (the code of that version), or move each run to this code with "
            "`durable fork ID STEP` (its steps before STEP replayed) then `durable cancel ID`; "
            "see README, versions")


class StrandedCheck:
    """Call check(conn) with each heartbeat: it queries at most every CHECK_EVERY seconds and
    logs a WARNING when it finds any. Errors other than a lost connection are logged once at
    debug level and skipped (a login without the views)."""

    def __init__(self, names: Sequence[str], queues: Sequence[str], version: str | None):
        self.names, self.queues, self.version = list(names), list(queues), version
        self._next = 0.0

    def check(self, conn: psycopg.Connection) -> None:
        now = time.monotonic()
        if now < self._next or not self.names:
            return
        self._next = now + CHECK_EVERY
        try:
            found = stranded(conn, self.names, self.queues, self.version)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            log.debug("versions check: %s", str(exc).strip())
            return
        if found:
            log.warning("%s", message(found, self.version))
