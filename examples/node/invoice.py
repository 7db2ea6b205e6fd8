"""The example's workflow in Python: the twin of workflows.js.

Same workflow name, same step names in the same order, same version: a run started by either
language is claimed by a worker of either, and a run one language's worker began (and died in)
is resumed by the other's, replaying the steps it recorded. Run it with
    durable worker invoice:app --path examples/node --queues default
"""

from __future__ import annotations

import time
from typing import Any

import durable

Order = dict[str, Any]  # {"customer", "lines": [{"sku", "qty", "cents"}], "pause_ms"}

app = durable.Durable(version="invoice-1")  # workflows.js VERSION


@app.step()
def price_lines(order: Order) -> dict[str, int]:
    """The order's subtotal in cents."""
    return {"subtotal_cents": sum(line["qty"] * line["cents"] for line in order["lines"])}


@app.step()
def add_tax(subtotal: int) -> dict[str, int]:
    """20 % tax, rounded down to a cent (as Math.floor in workflows.js)."""
    return {"tax_cents": subtotal * 20 // 100}


@app.step(max_attempts=3, backoff_base=0.2)
def issue_invoice(order: Order, subtotal: int, tax: int) -> dict[str, Any]:
    """Issue the invoice (a pretend service called with the step's idempotency key)."""
    time.sleep(order.get("pause_ms", 0) / 1000)
    return {"number": f"INV-{durable.idempotency_key()}", "total_cents": subtotal + tax,
            "issued_by": "python"}


@app.workflow()
def invoice(order: Order) -> dict[str, Any]:
    """Price the lines, add the tax, issue the invoice; no lines fails it without retries."""
    if not order["lines"]:
        raise durable.NonRetryable("an invoice needs at least one line")
    subtotal = price_lines(order)["subtotal_cents"]
    tax = add_tax(subtotal)["tax_cents"]
    issued = issue_invoice(order, subtotal, tax)
    return {"invoice": issued["number"], "customer": order["customer"],
            "total_cents": issued["total_cents"], "finished_by": "python"}
