"""Workflows of the Python benchmark: noop3 (3 no-op steps) and probe (its first step returns
the wall-clock time it started, for the enqueue-to-first-step latency)."""

from __future__ import annotations

import os
import time

from durable import Durable

app = Durable(os.environ.get("DATABASE_URL"))


@app.step()
def noop(i: int) -> int:
    return i


@app.workflow(queue="bench")
def noop3() -> int:
    return noop(0) + noop(1) + noop(2)


@app.step()
def started() -> float:
    return time.time()


@app.workflow(queue="bench")
def probe() -> float:
    return started()


@app.workflow(queue="bench")
def noop0() -> int:
    """No step: the cost of a workflow alone (bench/shard_bench.py WORKFLOW=noop0)."""
    return 0
