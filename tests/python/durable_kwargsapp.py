"""The app the worker processes of test_kwargs.py run (`durable worker durable_kwargsapp:app`):
workflows and steps that take keyword arguments, and parents that start children with them."""

from __future__ import annotations

import os

import durable
from durable import Args

app = durable.Durable(os.environ.get("DATABASE_URL"))


@app.step()
def scale(value: int, *, factor: int = 1, offset: int = 0) -> int:
    """value * factor + offset: a step called with keyword arguments."""
    return value * factor + offset


@app.workflow(name="kw_price", max_attempts=1)
def price(item: str, quantity: int = 1, *, discount: int = 0, note: str | None = None) -> dict:
    """A workflow with positional, defaulted and keyword-only parameters."""
    total = scale(quantity, factor=100, offset=-discount)
    return {"item": item, "quantity": quantity, "discount": discount, "note": note,
            "total": total}


@app.workflow(name="kw_options", max_attempts=1)
def named_like_options(queue: str, workflow_id: str) -> list[str]:
    """Parameters named like enqueue's options: app.start passes them to the workflow."""
    return [queue, workflow_id]


@app.workflow(name="kw_parent", max_attempts=1)
def parent() -> dict:
    """Children with keyword arguments: one by app.start, two by enqueue_many (one step)."""
    one = app.start(price, "tea", 2, discount=50, note="child")
    many = app.enqueue_many(price, [Args("mug", discount=1), {"item": "kettle", "quantity": 3}])
    return {"one": one.result(timeout=60), "many": [h.result(timeout=60) for h in many]}


@app.workflow(name="kw_bad_step_call", max_attempts=1)
def bad_step_call() -> str:
    """Calls a step with an unknown keyword: TypeError at the call, the step not run."""
    try:
        scale(1, factr=2)  # type: ignore[call-arg]
    except TypeError as exc:
        return str(exc)
    return "not raised"
