"""The demo: an order workflow.

    validate_order -> reserve_stock (transactional) -> charge_card (outside service, with the
    step's idempotency key) -> pack_parcel (slow) -> ship -> send_confirmation

An order paid by bank transfer ("pay_by": "transfer") is not charged: after reserve_stock it
waits for the payment's confirmation, a message on topic "payment" (durable.recv), which the
bank's webhook, or a person in psql, sends:

    select durable.send('order-1002', '{"paid": 3900}', 'payment');

Meanwhile the run is `waiting` (durable.runs.waiting_for says for what) and holds no worker
slot; after PAYMENT_TIMEOUT without it the order ends with status "payment not received".

Run it:  durable worker orders:app --path examples --queues orders
Start:   durable enqueue order --queue orders --input '{"order_id": "1001", ...}'
Each step prints a line when its code runs, so the workers' logs show what ran where.
"""

from __future__ import annotations

import os
import time
import zlib
from typing import Any

import payments
import psycopg

import durable

app = durable.Durable(os.environ.get("DATABASE_URL"))

PRICES = {"tea": 450, "mug": 1200, "kettle": 3900}
# how long an order paid by bank transfer waits for its payment (seconds; fixed at first reach)
PAYMENT_TIMEOUT = float(os.environ.get("DEMO_PAYMENT_TIMEOUT", str(3 * 24 * 3600)))


def say(message: str) -> None:
    """One line in the worker's log: pid, step, try, message."""
    info = durable.step_info()
    print(f"[pid {os.getpid()}] step {info.name:<17} try {info.try_number}  {message}", flush=True)


@app.step()
def validate_order(order: dict[str, Any]) -> int:
    """Check the order and return its total in cents."""
    unknown = [i["sku"] for i in order["items"] if i["sku"] not in PRICES]
    if unknown:
        raise durable.NonRetryable(f"unknown products: {unknown}")
    total: int = sum(PRICES[i["sku"]] * i["quantity"] for i in order["items"])
    say(f"order {order['order_id']}: total {total / 100:.2f}")
    return total


@app.transaction()
def reserve_stock(conn: psycopg.Connection, order: dict[str, Any]) -> int:
    """Reserve the items: rows in shop.reservations, committed with the step's checkpoint."""
    with conn.cursor() as cur:
        cur.executemany(
            "insert into shop.reservations (order_id, sku, quantity) values (%s, %s, %s)",
            [(order["order_id"], i["sku"], i["quantity"]) for i in order["items"]])
    say(f"order {order['order_id']}: reserved {len(order['items'])} items")
    return len(order["items"])


@app.step(max_attempts=4, backoff_base=0.2, backoff_max=2)
def charge_card(order: dict[str, Any], total: int) -> dict[str, Any]:
    """Charge the card through the payment provider, with this step's idempotency key."""
    key = durable.idempotency_key()
    say(f"order {order['order_id']}: charging {total / 100:.2f} (idempotency key {key})")
    charge = payments.charge(order["card"], total, idempotency_key=key)
    say(f"order {order['order_id']}: charged, {charge['id']}")
    return charge


@app.step()
def payment_received(order: dict[str, Any], total: int, payment: dict[str, Any]) -> dict[str, Any]:
    """Check the confirmed bank transfer against the total; returns the payment."""
    paid = payment.get("paid")
    if paid != total:
        raise durable.NonRetryable(f"order {order['order_id']}: paid {paid}, due {total}")
    say(f"order {order['order_id']}: transfer of {paid / 100:.2f} confirmed")
    return {"id": f"transfer-{order['order_id']}", "amount_cents": paid}


@app.step()
def pack_parcel(order: dict[str, Any]) -> str:
    """The slow part: a few seconds of packing."""
    say(f"order {order['order_id']}: packing...")
    time.sleep(float(os.environ.get("DEMO_PACK_SECONDS", "4")))
    say(f"order {order['order_id']}: packed")
    return f"parcel-{order['order_id']}"


@app.step()
def ship(order: dict[str, Any], parcel: str) -> str:
    """Hand the parcel to the carrier; returns the tracking number."""
    tracking = f"TRK{zlib.crc32(parcel.encode()) % 10**8:08d}"
    say(f"order {order['order_id']}: shipped {parcel}, tracking {tracking}")
    return tracking


@app.step()
def send_confirmation(order: dict[str, Any], tracking: str) -> bool:
    """E-mail the customer (pretend)."""
    say(f"order {order['order_id']}: confirmation e-mail sent ({tracking})")
    return True


@app.workflow(name="order", queue="orders", max_attempts=3)
def order(order: dict[str, Any]) -> dict[str, Any]:
    """Take an order from validation to confirmation."""
    total = validate_order(order)
    reserve_stock(order)
    if order.get("pay_by") == "transfer":
        # a durable wait: the run parks (status waiting, no worker slot held) until a message
        # on topic "payment" is sent to it, or PAYMENT_TIMEOUT passes (then None, recorded)
        payment = durable.recv("payment", timeout=PAYMENT_TIMEOUT)
        if payment is None:
            return {"order_id": order["order_id"], "status": "payment not received"}
        charge = payment_received(order, total, payment)
    else:
        charge = charge_card(order, total)
    parcel = pack_parcel(order)
    tracking = ship(order, parcel)
    send_confirmation(order, tracking)
    return {"order_id": order["order_id"], "status": "shipped", "charge": charge["id"],
            "tracking": tracking}
