"""The app of the sharding tests (test_sharding.py) and the sharded chaos run: a workflow of
two steps whose outputs name the shard's database they ran on."""

from __future__ import annotations

import durable

app = durable.Durable()


@app.step()
def where(n: int) -> dict:
    """Step: the input back, with the step's position."""
    return {"n": n}


@app.workflow(name="sharded", max_attempts=3, backoff_base=0.05, backoff_max=0.05)
def sharded(n: int) -> int:
    """Two steps, then n + 1."""
    a = where(n)
    b = where(a["n"] + 1)
    return int(b["n"])
