"""The workflows the chaos and failover runs execute: each has STEPS steps, alternately
transactional (a side-effect row written in the checkpoint's transaction: must exist exactly
once) and plain (a line appended to this process's execution log: at least once, and at most
once more per interruption). Steps sleep a little so that kills land in the middle of them.
"""

from __future__ import annotations

import os
import random
import time

from durable import Durable
from durable.execution import step_info

STEPS = 6
app = Durable(os.environ.get("DATABASE_URL"))
_log_fd: int | None = None


def expected_output(n: int) -> int:
    """What chaos_flow(n) returns when every step's output was used exactly once."""
    return sum(n * 10 + i for i in range(STEPS))


def _pause() -> None:
    time.sleep(random.uniform(0.0, float(os.environ.get("CHAOS_STEP_SLEEP", "0.01"))))


def _log(line: str) -> None:
    global _log_fd
    if _log_fd is None:
        path = os.path.join(os.environ["CHAOS_LOG_DIR"], f"exec-{os.getpid()}.log")
        _log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(_log_fd, line.encode())  # one O_APPEND write per line: whole lines only


@app.transaction()
def effect(conn, n: int, i: int) -> int:
    """Transactional step: its row commits with its checkpoint, or not at all."""
    info = step_info()
    conn.execute("insert into chaos.side_effects (workflow_id, step_id) values (%s, %s)",
                 (info.workflow_id, info.step_id))
    _pause()
    return n * 10 + i


@app.step()
def record(n: int, i: int) -> int:
    """Plain step: appends to the execution log, then the worker checkpoints it."""
    info = step_info()
    _log(f"{info.workflow_id} {info.step_id}\n")
    _pause()
    return n * 10 + i


@app.workflow(queue="chaos")
def chaos_flow(n: int) -> int:
    total = 0
    for i in range(STEPS):
        total += effect(n, i) if i % 2 == 0 else record(n, i)
    return total
