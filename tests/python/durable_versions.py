"""Two versions of one application for the rolling-deploy tests (test_field_versions.py).

v1 registers `order` (reserve, charge, ship) and `alpha`; v2 inserts fraud_check at position 1
of `order` and adds `beta`. Each app pins its version explicitly (Durable(version=...)), as a
deploy that tags its releases would; test_field_versions.py also checks the derived one.
"""

from __future__ import annotations

import time

import durable
from durable_testapp import _side, event

v1 = durable.Durable(version="v1")
v2 = durable.Durable(version="v2")


def _step(app: durable.Durable, name: str):
    @app.step(name=name)
    def step(version: str, sleep: float = 0.0) -> str:
        event(None, name, {"version": version})
        # sleep the first time only (a test kills the worker then)
        ran = _side().execute("select count(*) from testapp.events where workflow_id = %s"
                              " and phase = %s", [durable.step_info().workflow_id, name]).fetchone()
        if ran and ran[0] == 1:
            time.sleep(sleep)
        return f"{name}@{version}"
    return step


reserve1, charge1, ship1 = (_step(v1, n) for n in ("reserve", "charge", "ship"))
reserve2, fraud2, charge2, ship2 = (_step(v2, n) for n in ("reserve", "fraud_check", "charge",
                                                           "ship"))


@v1.workflow(name="order", max_attempts=3)
def order_v1(sleep: float) -> list:
    """v1: reserve, charge (sleeping as told, so a test can kill the worker there), ship."""
    return [reserve1("v1"), charge1("v1", sleep), ship1("v1")]


@v2.workflow(name="order", max_attempts=3)
def order_v2(sleep: float) -> list:
    """v2: a fraud check at position 1."""
    return [reserve2("v2"), fraud2("v2"), charge2("v2", sleep), ship2("v2")]


@v1.workflow(name="alpha")
def alpha_v1() -> str:
    return "alpha@v1"


@v2.workflow(name="alpha")
def alpha_v2() -> str:
    return "alpha@v2"


@v2.workflow(name="beta", queue="default", max_attempts=1)
def beta_v2() -> str:
    return "beta@v2"
