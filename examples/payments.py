"""A pretend payment provider, standing in for an outside HTTP API.

Like real providers (Stripe, Adyen), it accepts an idempotency key: a second request with the
same key returns the first charge instead of charging again. Charges are files under
$DEMO_PAYMENTS_DIR, one per key, created atomically, so several worker processes share them.
The first request for each key fails with a transient error, the way real services sometimes
do, so the demo shows a step retried by the SQL.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any


class ServiceUnavailable(Exception):
    """HTTP 503 from the provider: try again later."""


def _folder() -> Path:
    folder = Path(os.environ.get("DEMO_PAYMENTS_DIR", "/tmp/durable-demo-payments"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def charge(card: str, amount_cents: int, idempotency_key: str) -> dict[str, Any]:
    """Charge card once per idempotency key; returns the charge (the same one for a repeat)."""
    folder = _folder()
    safe = idempotency_key.replace("/", "_").replace(":", "_")
    first_try = folder / f"{safe}.seen"
    try:
        os.close(os.open(first_try, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        raise ServiceUnavailable("503 payment service temporarily unavailable")
    except FileExistsError:
        pass
    time.sleep(0.1)  # the network
    record = folder / f"{safe}.charge"
    charge = {"id": f"ch_{uuid.uuid4().hex[:10]}", "card": card[-4:], "amount_cents": amount_cents,
              "idempotency_key": idempotency_key}
    try:
        fd = os.open(record, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        first: dict[str, Any] = json.loads(record.read_text())  # already charged: the same one
        return first
    with os.fdopen(fd, "w") as out:
        json.dump(charge, out)
    return charge
