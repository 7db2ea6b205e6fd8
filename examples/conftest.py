"""Fixtures of the example tests: the examples' tables in every test database, no slow parcel.

durable.testing (the pytest plugin durable installs) gives durable_app, durable_worker and a
fresh database per test; this file adds the examples' own schema to the template those
databases are copied from.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DEMO_PACK_SECONDS", "0")  # orders.pack_parcel: no 4-second nap in tests


@pytest.fixture(scope="session")
def durable_template_sql() -> str:
    """examples/schema.sql: the shop's tables and queues, in every test's database."""
    return (Path(__file__).parent / "schema.sql").read_text()


@pytest.fixture(autouse=True)
def payments_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pretend payment provider's ledger (payments.py), one per test."""
    monkeypatch.setenv("DEMO_PAYMENTS_DIR", str(tmp_path / "payments"))
    return tmp_path / "payments"
