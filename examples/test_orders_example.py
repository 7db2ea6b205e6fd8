"""Testing a workflow with durable.testing: examples/orders.py's order, end to end.

Run: pytest examples/test_orders_example.py (make test runs it, from
tests/python/test_testing_plugin.py). Each test gets a fresh database (a copy of one deployed
once per session), durable_app points orders.app at it, and durable_worker runs the workflows
in the test's own thread until nothing is runnable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orders

from durable import Durable
from durable.testing import LocalWorker

ORDER = {"order_id": "1001", "card": "4242424242424242",
         "items": [{"sku": "tea", "quantity": 2}, {"sku": "kettle", "quantity": 1}]}


def reservations(app: Durable, order_id: str) -> int:
    """How many stock reservations order_id has (rows reserve_stock wrote)."""
    with app.connection().cursor() as cur:
        cur.execute("select count(*) from shop.reservations where order_id = %s", [order_id])
        row = cur.fetchone()
    assert row is not None
    return int(row[0])


def test_an_order_is_reserved_charged_and_shipped(durable_app: Durable,
                                                  durable_worker: LocalWorker,
                                                  payments_dir: Path) -> None:
    handle = durable_app.enqueue(orders.order, ORDER, workflow_id="order-1001")

    report = durable_worker.run_until_idle()

    assert report.outcome("order-1001") == "succeeded"
    result = handle.result(timeout=0)
    assert result["status"] == "shipped" and result["charge"].startswith("ch_")
    assert [s.name for s in handle.steps()] == [
        "validate_order", "reserve_stock", "charge_card", "pack_parcel", "ship",
        "send_confirmation"]
    assert handle.steps()[2].attempt == 1  # charge_card's first try failed (a 503), then passed
    assert [e.step_name for e in handle.errors()] == ["charge_card"]
    assert reservations(durable_app, "1001") == 2
    assert len(list(payments_dir.glob("*.charge"))) == 1


def test_a_worker_killed_after_the_charge_charges_once(durable_app: Durable,
                                                       durable_worker: LocalWorker,
                                                       payments_dir: Path) -> None:
    handle = durable_app.enqueue(orders.order, ORDER, workflow_id="order-1001")
    # the worker dies once charge_card has charged the card and before its checkpoint
    durable_worker.crash_at("charge_card", when="after")

    crashed = durable_worker.run_until_idle()

    assert crashed.crashed == ["order-1001"]
    assert handle.status() == "running"  # leased to a dead worker
    assert [s.name for s in handle.steps()] == ["validate_order", "reserve_stock"]
    assert len(list(payments_dir.glob("*.charge"))) == 1  # the charge happened

    # a new worker: the dead one's lease has expired (the clock moved past it)
    recovered = durable_worker.run_until_idle()

    assert recovered.outcome("order-1001") == "succeeded"
    assert handle.info().lost_leases == 1
    # the recorded steps were replayed, not run again: the stock is reserved once; charge_card
    # ran again with the same idempotency key, so the provider charged the card once
    assert reservations(durable_app, "1001") == 2
    assert len(list(payments_dir.glob("*.charge"))) == 1
    assert handle.result(timeout=0)["status"] == "shipped"


def test_an_unpaid_transfer_order_ends_after_the_payment_timeout(
        durable_app: Durable, durable_worker: LocalWorker) -> None:
    handle = durable_app.enqueue(orders.order, {**ORDER, "pay_by": "transfer"},
                                 workflow_id="order-1002")
    durable_worker.run_until_idle()
    assert handle.status() == "waiting"
    [waiting] = durable_app.list_runs(status="waiting")
    assert (waiting.waiting_for or "").startswith("message on topic payment")

    durable_worker.advance(timedelta(seconds=orders.PAYMENT_TIMEOUT + 1))  # no waiting
    durable_worker.run_until_idle()

    assert handle.result(timeout=0) == {"order_id": "1001", "status": "payment not received"}
