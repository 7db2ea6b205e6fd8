"""The pytest plugin durable.testing, used the way a project uses it: real test files run by
pytest in a subprocess (its entry point loads the plugin), against the test server.

examples/test_orders_example.py (the README's example) must pass; a small project of its own
checks what the plugin promises: a fresh database per test, run_until_idle, crash_at before
and after a step (by name and by position, and on a wait), recovery in a new worker with the
step run again only when it had not been recorded, a crash loop ending in WorkerLost, the clock
moved by advance, and a failing test still failing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ADMIN_DSN, ROOT

APP = '''
import os
from pathlib import Path

import durable

app = durable.Durable()


def note(what: str) -> None:
    """One line per execution of a step's code, in the file $PLUGIN_LEDGER."""
    with open(os.environ["PLUGIN_LEDGER"], "a") as out:
        out.write(what + "\\n")


@app.step()
def reserve(order: str) -> str:
    note(f"reserve {order}")
    return f"r-{order}"


@app.step()
def charge(order: str) -> str:
    note(f"charge {order}")
    return f"c-{order}"


@app.step()
def ship(order: str) -> str:
    note(f"ship {order}")
    return f"s-{order}"


@app.workflow(queue="plugin")
def order(order: str) -> list:
    return [reserve(order), charge(order), ship(order)]


@app.workflow(queue="plugin")
def paid_later(order: str) -> list:
    first = reserve(order)
    payment = durable.recv("payment", timeout=3600)
    return [first, payment, ship(order)]


@app.workflow(queue="plugin")
def nap(order: str) -> str:
    durable.sleep(600)
    return ship(order)
'''

CONFTEST = '''
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def durable_template_sql():
    return "select durable.set_queue('plugin')"


@pytest.fixture(autouse=True)
def ledger(tmp_path, monkeypatch):
    path = tmp_path / "ledger"
    path.write_text("")
    monkeypatch.setenv("PLUGIN_LEDGER", str(path))
    return path


def executions(ledger: Path) -> list[str]:
    return ledger.read_text().splitlines()
'''

TESTS = '''
import pytest

import durable
import plugin_app
from conftest import executions
from durable.testing import crash_at, run_until_idle


def test_a_database_of_its_own_one(durable_app):
    assert durable_app.list_runs() == []
    durable_app.enqueue(plugin_app.order, "x")
    assert len(durable_app.list_runs()) == 1


def test_a_database_of_its_own_two(durable_app):
    assert durable_app.list_runs() == []
    durable_app.enqueue(plugin_app.order, "y")
    assert len(durable_app.list_runs()) == 1


def test_run_until_idle_runs_everything(durable_app, ledger):
    handles = [durable_app.enqueue(plugin_app.order, str(i)) for i in range(3)]
    report = run_until_idle(durable_app)
    assert report.ran == 3 and report.crashed == []
    assert [h.result(timeout=0) for h in handles] == [[f"r-{i}", f"c-{i}", f"s-{i}"]
                                                      for i in range(3)]
    assert len(executions(ledger)) == 9
    assert run_until_idle(durable_app).ran == 0


def test_crash_before_a_step_runs_it_once_after_recovery(durable_app, durable_worker, ledger):
    handle = durable_app.enqueue(plugin_app.order, "b")
    durable_worker.crash_at("charge")
    report = durable_worker.run_until_idle()
    assert report.crashed == [handle.workflow_id]
    assert handle.status() == "running"
    assert executions(ledger) == ["reserve b"]
    assert [s.name for s in handle.steps()] == ["reserve"]

    report = durable_worker.run_until_idle()
    assert report.outcome(handle.workflow_id) == "succeeded"
    assert executions(ledger) == ["reserve b", "charge b", "ship b"]
    assert handle.info().lost_leases == 1


def test_crash_after_a_step_runs_it_again_and_records_it_once(durable_app, ledger):
    handle = durable_app.enqueue(plugin_app.order, "a")
    crash_at(durable_app, 1, when="after")          # position 1: charge
    assert run_until_idle(durable_app).crashed == [handle.workflow_id]
    assert executions(ledger) == ["reserve a", "charge a"]
    assert [s.name for s in handle.steps()] == ["reserve"]

    run_until_idle(durable_app)
    assert executions(ledger) == ["reserve a", "charge a", "charge a", "ship a"]
    assert handle.result(timeout=0) == ["r-a", "c-a", "s-a"]
    assert [s.name for s in handle.steps()] == ["reserve", "charge", "ship"]


def test_crash_before_a_wait(durable_app, durable_worker, ledger):
    handle = durable_app.enqueue(plugin_app.paid_later, "w")
    durable_worker.crash_at("durable.recv")
    assert durable_worker.run_until_idle().crashed == [handle.workflow_id]
    durable_worker.run_until_idle()
    assert handle.status() == "waiting"
    durable_app.send(handle.workflow_id, {"paid": 1}, topic="payment")
    durable_worker.run_until_idle()
    assert handle.result(timeout=0) == ["r-w", {"paid": 1}, "s-w"]
    assert executions(ledger) == ["reserve w", "ship w"]


def test_a_crash_loop_ends_in_worker_lost(durable_app, durable_worker):
    handle = durable_app.enqueue(plugin_app.order, "loop")
    durable_worker.crash_at("ship", times=3)
    for _ in range(3):
        assert durable_worker.run_until_idle().crashed == [handle.workflow_id]
    durable_worker.run_until_idle()
    with pytest.raises(durable.WorkflowFailed) as failed:
        handle.result(timeout=0)
    assert "WorkerLost" in str(failed.value.error)


def test_advance_moves_the_clock_for_sleeps(durable_app, durable_worker):
    handle = durable_app.enqueue(plugin_app.nap, "n")
    durable_worker.run_until_idle()
    assert handle.status() == "waiting"
    durable_worker.advance(599)
    assert durable_worker.run_until_idle().ran == 0
    durable_worker.advance(2)
    durable_worker.run_until_idle()
    assert handle.result(timeout=0) == "s-n"


def test_this_one_fails_on_purpose(durable_app):
    durable_app.enqueue(plugin_app.order, "f")
    assert run_until_idle(durable_app).ran == 0
'''


def pytest_run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DURABLE_TEST_ADMIN_DSN=ADMIN_DSN, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "-rf", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900, check=False)


def counts(output: str) -> dict[str, int]:
    return {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|error)", output)}


def test_the_readme_example_passes():
    done = pytest_run([str(ROOT / "examples" / "test_orders_example.py")], ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert counts(done.stdout) == {"passed": 3}, done.stdout


def test_a_project_of_its_own_crashes_and_recovers(tmp_path: Path):
    (tmp_path / "plugin_app.py").write_text(textwrap.dedent(APP))
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (tmp_path / "test_plugin.py").write_text(textwrap.dedent(TESTS))
    (tmp_path / "pytest.ini").write_text("[pytest]\ndurable_app = plugin_app:app\n")

    done = pytest_run([f"--durable-project={ROOT}"], tmp_path)

    out = done.stdout + done.stderr
    assert counts(done.stdout) == {"passed": 8, "failed": 1}, out
    assert "FAILED test_plugin.py::test_this_one_fails_on_purpose" in done.stdout, out
    assert done.returncode == 1, out


def test_without_durable_app_the_fixture_says_what_to_set(tmp_path: Path):
    (tmp_path / "test_unset.py").write_text("def test_it(durable_app):\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = pytest_run([f"--durable-project={ROOT}"], tmp_path)
    assert done.returncode == 1
    assert "set durable_app = \"module:app\"" in done.stdout, done.stdout + done.stderr
