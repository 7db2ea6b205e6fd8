"""The app the dashboard's browser tests run (`durable worker durable_uiapp:app`): workflows
that succeed in steps, retry a step, fail with a traceback, wait, and start children."""

from __future__ import annotations

import os

import durable

app = durable.Durable(os.environ.get("DATABASE_URL"))


@app.step()
def reserve(order: int) -> dict:
    """First step of an order."""
    return {"reserved": order, "secret": f"card-4242-{order}"}


@app.step()
def charge(order: int) -> dict:
    """Second step."""
    return {"charged": order * 10}


@app.step()
def ship(order: int) -> str:
    """Third step."""
    return f"shipped {order}"


@app.workflow(name="ui_order", max_attempts=1)
def ui_order(order: int) -> dict:
    """Three steps in order, then its output."""
    reserve(order)
    charge(order)
    return {"order": order, "status": ship(order)}


_tries: dict[str, int] = {}


@app.step(max_attempts=3, backoff_base=0.05, backoff_max=0.05)
def wobbly(order: int) -> str:
    """Fails its first try (per run, in this process), then succeeds."""
    key = durable.step_info().workflow_id
    _tries[key] = _tries.get(key, 0) + 1
    if _tries[key] == 1:
        raise ConnectionError(f"gateway timeout for order {order}")
    return "ok"


@app.workflow(name="ui_wobbly", max_attempts=1)
def ui_wobbly(order: int) -> str:
    """A step that fails once and is retried by the SQL's step retry."""
    return wobbly(order)


@app.step(max_attempts=1)
def decline(order: int) -> None:
    """Always raises."""
    raise ValueError(f"card declined for order {order}")


@app.workflow(name="ui_boom", max_attempts=1)
def ui_boom(order: int) -> None:
    """Reserves, then fails: a failed run with a traceback."""
    reserve(order)
    decline(order)


@app.workflow(name="ui_sleeper", max_attempts=1)
def ui_sleeper(seconds: float) -> str:
    """Sleeps durably (waiting)."""
    durable.sleep(seconds)
    return "slept"


@app.workflow(name="ui_child", max_attempts=1)
def ui_child(n: int) -> int:
    """A child: one step."""
    return charge(n)["charged"]


@app.workflow(name="ui_parent", max_attempts=1)
def ui_parent(n: int) -> int:
    """Starts n children and waits for them all."""
    handles = app.enqueue_many(ui_child, [[i] for i in range(n)])
    return sum(r.output for r in durable.wait_all(handles))


@app.step()
def hold(seconds: float) -> str:
    """Runs until told to stop (a cancel), or seconds."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not durable.should_stop():
        time.sleep(0.05)
    return "stopped" if durable.should_stop() else "done"


@app.workflow(name="ui_slow", max_attempts=1)
def ui_slow(seconds: float) -> str:
    """One long step: a running run its worker holds."""
    return hold(seconds)
