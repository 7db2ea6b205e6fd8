"""monitoring/: the real postgres_exporter (Debian's prometheus-postgres-exporter, installed by
tests/lib/setup.sh) runs monitoring/queries.yaml against a fresh database with known contents,
as a login that holds only durable_observer; the test scrapes /metrics over HTTP and checks the
values. The alert rules pass `promtool check rules` and their unit tests (`promtool test
rules`), and every metric that the alert rules and the Grafana dashboard name is one the
exporter serves."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from durable import sqitch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MONITORING = ROOT / "monitoring"
ADMIN_DSN = os.environ.get("DURABLE_TEST_ADMIN_DSN", "postgresql://root@127.0.0.1:5432/postgres")
EXPORTER = "prometheus-postgres-exporter"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: tests/lib/setup.sh installs it (Debian package "
                    f"{'prometheus' if name == 'promtool' else name})")
    return path


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A fresh database of this module's own: the worker counts are the whole database's."""
    name = f"durable_test_exporter_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = make_conninfo(ADMIN_DSN, dbname=name)
    try:
        target, env = sqitch.target_and_env(dsn)
        deployed = subprocess.run(["sqitch", "deploy", target], cwd=ROOT, env=env,
                                  capture_output=True, text=True, check=False)
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        yield dsn
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


@pytest.fixture(scope="module")
def observer_login(database: str) -> Iterator[str]:
    """A login role granted durable_observer only, as the README tells operators to make."""
    role = f"durable_test_exporter_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
        admin.execute(sql.SQL("grant durable_observer to {}").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


# what the database holds (see contents): durations are exact, since the clock is pinned
STEP_SECONDS = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # step "charge" of the six finished runs
RUN_SECONDS = 10.0  # claim to finish of each run that succeeded


def pinned(conn: psycopg.Connection, at: datetime) -> None:
    conn.execute("select pg_catalog.set_config('durable.fake_now', %s, false)", [at.isoformat()])


@pytest.fixture(scope="module")
def contents(database: str) -> dict[str, datetime]:
    """Known contents, written through the SQL API with durable.fake_now pinned:

    queue mx-q: 4 runs enqueued 10 minutes ago, one claimed then by worker dead-w (lease 1 s,
    so dead now and still holding it): 3 pending, 1 running; one more delayed by an hour.
    queue mx-w: one run parked in a durable.sleep of a day (waiting).
    queue mx-f: 6 runs of workflow order claimed by live-w (lease 1 hour) 70 s ago, each with a
    step charge of STEP_SECONDS[i]; 4 completed 60 s ago, 2 failed (not retryable); one of
    them also had a failed try of step ship.
    queue mx-paused (paused) and mx-limited (concurrency 3): empty."""
    now = datetime.now().astimezone()
    t0, t1 = now - timedelta(minutes=10), now - timedelta(seconds=70)
    t2 = t1 + timedelta(seconds=RUN_SECONDS)
    with psycopg.connect(database, autocommit=True) as conn:
        for q in ("mx-q", "mx-w", "mx-f"):
            conn.execute("select durable.set_queue(%s)", [q])
        conn.execute("select durable.set_queue('mx-paused', p_paused => true)")
        conn.execute("select durable.set_queue('mx-limited', p_concurrency => 3)")
        pinned(conn, t0)
        for i in range(4):
            conn.execute("select durable.enqueue('mail', p_queue => 'mx-q', p_workflow_id => %s)",
                         [f"q-{i}"])
        conn.execute("select durable.enqueue('mail', p_queue => 'mx-q', p_workflow_id => 'later',"
                     " p_delay => interval '1 hour')")
        claimed = conn.execute("select workflow_id from durable.claim('dead-w', '{mx-q}', 1,"
                               " interval '1 second')").fetchall()
        assert claimed == [("q-0",)]

        pinned(conn, t1)
        conn.execute("select durable.enqueue('nap', p_queue => 'mx-w', p_workflow_id => 'w-0')")
        [(lease,)] = conn.execute("select lease from durable.claim('live-w', '{mx-w}', 1,"
                                  " interval '1 hour')").fetchall()
        conn.execute("select durable.sleep('w-0', %s, 0, interval '1 day')", [lease])
        for i in range(6):
            conn.execute("select durable.enqueue('order', p_queue => 'mx-f', p_workflow_id => %s)",
                         [f"f-{i}"])
        leases = dict(conn.execute("select workflow_id, lease from durable.claim('live-w',"
                                   " '{mx-f}', 10, interval '1 hour')").fetchall())
        assert sorted(leases) == [f"f-{i}" for i in range(6)]

        pinned(conn, t2)
        for i in range(6):
            wid = f"f-{i}"
            conn.execute("select durable.checkpoint(%s, %s, 0, 'charge', '{}', null, %s)",
                         [wid, leases[wid], t2 - timedelta(seconds=STEP_SECONDS[i])])
            if i < 4:
                conn.execute("select durable.complete(%s, %s, '{}')", [wid, leases[wid]])
            else:
                if i == 5:
                    conn.execute("select durable.step_failed(%s, %s, 1, 'ship',"
                                 " '{\"type\": \"Timeout\"}', 3)", [wid, leases[wid]])
                conn.execute("select durable.fail(%s, %s, '{\"type\": \"Boom\"}', false)",
                             [wid, leases[wid]])
        conn.execute("reset durable.fake_now")
    return {"t0": t0, "t1": t1, "t2": t2}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read().decode()


@pytest.fixture(scope="module")
def exporter(database: str, observer_login: str, contents: dict, tmp_path_factory
             ) -> Iterator[tuple[str, Path]]:
    """The real exporter on a free port of its own, as the observer login; (metrics URL, log)."""
    binary = tool(EXPORTER)
    # key=value (the host may be a socket directory); the exporter's Go driver sends keys it
    # does not know, jit here, as settings of the session (README: Operating)
    params = conninfo_to_dict(database)
    dsn = (f"host={params.get('host', 'localhost')} port={params.get('port', 5432)} "
           f"dbname={params['dbname']} user={observer_login} sslmode=disable jit=off")
    log = tmp_path_factory.mktemp("exporter") / "exporter.log"
    for _ in range(5):  # the port may be taken between free_port() and the exporter's bind
        port = free_port()
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [binary, f"--web.listen-address=127.0.0.1:{port}",
                 f"--extend.query-path={MONITORING / 'queries.yaml'}",
                 "--disable-default-metrics", "--disable-settings-metrics",
                 "--no-collector.database", "--no-collector.bgwriter"],
                env={"DATA_SOURCE_NAME": dsn, "PATH": os.environ.get("PATH", "")},
                stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                scrape(url)
                break
            except OSError:
                time.sleep(0.1)
        if proc.poll() is None:
            break
    else:
        pytest.fail(f"the exporter did not start: {log.read_text()}")
    try:
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """name -> [(labels without the exporter's server label, value)]"""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = {k: v for k, v in s.labels.items() if k != "server"}
            out.setdefault(s.name, []).append((labels, s.value))
    return out


def value(metrics: dict, name: str, **labels: str) -> float:
    found = [v for lab, v in metrics.get(name, []) if all(lab.get(k) == x
                                                          for k, x in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {found} in {metrics.get(name)}"
    return found[0]


@pytest.fixture(scope="module")
def metrics(exporter: tuple[str, Path]) -> dict:
    url, log = exporter
    text = scrape(url)
    got = samples(text)
    # every query ran as the observer, without an error
    assert value(got, "pg_up") == 1, log.read_text()
    assert value(got, "pg_exporter_last_scrape_error") == 0, log.read_text()
    assert value(got, "pg_exporter_user_queries_load_error") == 0, log.read_text()
    assert "level=error" not in log.read_text(), log.read_text()
    return got


def test_the_schema_answers_with_its_version_and_window(metrics: dict) -> None:
    assert value(metrics, "durable_info_up", version="0.2.0") == 1
    assert value(metrics, "durable_info_window_seconds") == 300


def test_queue_depth_running_waiting_scheduled_per_queue(metrics: dict) -> None:
    assert value(metrics, "durable_queue_pending", queue="mx-q") == 3
    assert value(metrics, "durable_queue_running", queue="mx-q") == 1
    assert value(metrics, "durable_queue_scheduled", queue="mx-q") == 1
    assert value(metrics, "durable_queue_waiting", queue="mx-q") == 0
    assert value(metrics, "durable_queue_waiting", queue="mx-w") == 1
    assert value(metrics, "durable_queue_pending", queue="mx-w") == 0
    for name in ("pending", "running", "waiting", "scheduled"):
        assert value(metrics, f"durable_queue_{name}", queue="mx-f") == 0
    assert value(metrics, "durable_queue_paused", queue="mx-paused") == 1
    assert value(metrics, "durable_queue_paused", queue="mx-q") == 0
    assert value(metrics, "durable_queue_concurrency_limit", queue="mx-limited") == 3
    assert value(metrics, "durable_queue_concurrency_limit", queue="mx-q") == 0


def test_oldest_pending_age_is_seconds_since_its_run_at(metrics: dict, contents: dict) -> None:
    age = value(metrics, "durable_queue_oldest_pending_seconds", queue="mx-q")
    since = (datetime.now().astimezone() - contents["t0"]).total_seconds()
    assert 600 <= age <= since
    assert value(metrics, "durable_queue_oldest_pending_seconds", queue="mx-f") == 0


def test_workers_alive_dead_and_dead_holding_work(metrics: dict) -> None:
    assert value(metrics, "durable_workers_alive") == 1  # live-w, lease 1 hour
    assert value(metrics, "durable_workers_dead") == 1  # dead-w, lease 1 second
    assert value(metrics, "durable_workers_dead_holding") == 1
    assert value(metrics, "durable_workers_dead_holding_runs") == 1  # q-0


def test_finished_and_failed_runs_of_the_window(metrics: dict) -> None:
    assert value(metrics, "durable_runs_finished_recent", queue="mx-f", workflow="order",
                 status="succeeded") == 4
    assert value(metrics, "durable_runs_finished_recent", queue="mx-f", workflow="order",
                 status="failed") == 2
    assert not [lab for lab, _ in metrics["durable_runs_finished_recent"]
                if lab["status"] == "cancelled"]
    assert value(metrics, "durable_step_errors_recent", queue="mx-f", workflow="order",
                 step="ship") == 1


def test_step_duration_quantiles_count_and_sum(metrics: dict) -> None:
    # percentile_cont over 1..6 s: p50 3.5, p95 5.75, p99 5.95
    for quantile, expected in (("0.5", 3.5), ("0.95", 5.75), ("0.99", 5.95)):
        assert value(metrics, "durable_step_duration_seconds", step="charge",
                     quantile=quantile) == pytest.approx(expected)
    assert value(metrics, "durable_step_duration_seconds_count", step="charge") == 6
    assert value(metrics, "durable_step_duration_seconds_sum", step="charge") == \
        pytest.approx(sum(STEP_SECONDS))
    # the failed try of ship recorded no step: it has no duration
    assert not [lab for lab, _ in metrics["durable_step_duration_seconds"]
                if lab["step"] == "ship"]


def test_workflow_duration_quantiles_of_succeeded_runs(metrics: dict) -> None:
    for quantile in ("0.5", "0.95", "0.99"):
        assert value(metrics, "durable_workflow_duration_seconds", workflow="order",
                     quantile=quantile) == pytest.approx(RUN_SECONDS)


def test_a_run_finishing_now_shows_in_the_next_scrape(exporter: tuple[str, Path],
                                                      database: str) -> None:
    url, _ = exporter
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("select durable.enqueue('order', p_queue => 'mx-f', p_workflow_id => 'f-new')")
        [(lease,)] = conn.execute("select lease from durable.claim('live-w', '{mx-f}', 1,"
                                  " interval '1 hour')").fetchall()
        conn.execute("select durable.fail('f-new', %s, '{\"type\": \"Boom\"}', false)", [lease])
    got = samples(scrape(url))
    assert value(got, "durable_runs_finished_recent", queue="mx-f", workflow="order",
                 status="failed") == 3


def promql_of_alerts() -> list[str]:
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def promql_of_dashboard() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(var["definition"])
    return exprs


def test_alerts_and_dashboard_name_only_exported_metrics(metrics: dict) -> None:
    exprs = promql_of_alerts() + promql_of_dashboard()
    assert len(exprs) > 15
    named = {m for e in exprs for m in re.findall(r"\b(durable_[a-z0-9_]+)\b", e)}
    assert named, exprs
    missing = named - set(metrics)
    assert not missing, f"named by alerts.yaml or grafana-dashboard.json, not exported: {missing}"
    # and the dashboard shows every durable metric there is
    unshown = {m for m in metrics if m.startswith("durable_")} - named - {
        "durable_info_up", "durable_info_window_seconds"}
    assert not unshown, f"exported but on no panel: {unshown}"


def test_alert_rules_pass_promtool_check_and_their_unit_tests() -> None:
    promtool = tool("promtool")
    checked = subprocess.run([promtool, "check", "rules", "alerts.yaml"], cwd=MONITORING,
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 5 rules found" in checked.stdout
    tested = subprocess.run([promtool, "test", "rules", "alerts_test.yaml"], cwd=MONITORING,
                            capture_output=True, text=True, check=False)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout + tested.stderr
    # each alert has a unit test
    tests = yaml.safe_load((MONITORING / "alerts_test.yaml").read_text())
    tested_alerts = {a["alertname"] for t in tests["tests"] for a in t["alert_rule_test"]
                     if a["exp_alerts"]}
    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    assert tested_alerts == {r["alert"] for g in rules["groups"] for r in g["rules"]}


def test_dashboard_promql_parses(tmp_path: Path) -> None:
    """The dashboard's queries, as recording rules, pass promtool's PromQL parser."""
    promtool = tool("promtool")
    exprs = [e.replace("$queue", ".*") for e in promql_of_dashboard()
             if not e.startswith("label_values(")]
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"durable:panel_{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "dashboard_rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
