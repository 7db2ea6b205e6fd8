"""The dashboard (`durable ui`) in a real browser: Debian's chromium, headless, driven by
Playwright, against `durable ui` processes serving a fresh test database in which a real worker
ran real workflows (succeeded in steps, a retried step, failed with a traceback, sleeping,
children, one still running).

Each server runs as a login role made for the test: an observer (durable_observer: no payloads),
a payload reader, and an operator (durable_client, with --allow-changes). A screenshot of each
page goes to tests/output/ui/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright import sync_api
from psycopg import sql
from psycopg.conninfo import make_conninfo

from conftest import HERE, ROOT, wait_for

CHROMIUM = "/usr/bin/chromium"  # Debian's package; never a browser of Playwright's own
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "tests" / "output" / "ui"

if not Path(CHROMIUM).exists():  # tests/lib/setup.sh installs it; say so rather than skip
    pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (tests/lib/setup.sh does)",
                pytrace=False)


@pytest.fixture(scope="module")
def scene(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A queue of its own with a real worker (durable_uiapp) and runs in every state, plus
    login roles for the three kinds of dashboard user; all dropped at the end."""
    tag = uuid.uuid4().hex[:8]
    queue, parked = f"ui-{tag}", f"ui-{tag}-later"
    logs = tmp_path_factory.mktemp("ui")
    admin = psycopg.connect(dsn, autocommit=True)
    for q in (queue, parked):
        admin.execute("select * from durable.set_queue(%s)", [q])
    logins = {"observer": ["durable_observer"],
              "reader": ["durable_observer", "durable_payload_reader"],
              "operator": ["durable_observer", "durable_client"]}
    roles = {kind: f"durable_test_ui_{tag}_{kind}" for kind in logins}
    for kind, granted in logins.items():
        admin.execute(sql.SQL("create role {} login in role {}").format(
            sql.Identifier(roles[kind]), sql.SQL(", ").join(map(sql.Identifier, granted))))
    env_before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = dsn
    import durable_uiapp
    app = durable_uiapp.app
    app.dsn = dsn
    worker_id = f"ui-worker-{tag}"
    worker_log = open(logs / "worker.log", "wb")  # noqa: SIM115 - closed at the end
    worker = subprocess.Popen(
        [sys.executable, "-m", "durable", "worker", "durable_uiapp:app", "--path", str(HERE),
         "--queues", queue, "--concurrency", "4", "--lease-timeout", "5", "--poll-interval",
         "0.3", "--worker-id", worker_id],
        stdout=worker_log, stderr=subprocess.STDOUT,
        env=dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1"), cwd=HERE)
    try:
        wait_for(lambda: worker.poll() is not None or admin.execute(
            "select 1 from durable.worker_status where id = %s", [worker_id]).fetchone(),
            what="the ui worker to register")
        assert worker.poll() is None, (logs / "worker.log").read_text()
        ids = {}

        def start(key: str, workflow: Any, *args: Any) -> None:
            ids[key] = app.enqueue(workflow, *args, queue=queue,
                                   workflow_id=f"{queue}-{key}").workflow_id

        start("order1", durable_uiapp.ui_order, 1)
        start("order2", durable_uiapp.ui_order, 2)
        start("wobbly", durable_uiapp.ui_wobbly, 3)
        start("boom", durable_uiapp.ui_boom, 4)
        start("sleeper", durable_uiapp.ui_sleeper, 3600)
        start("parent", durable_uiapp.ui_parent, 2)
        start("slow", durable_uiapp.ui_slow, 600)
        # 55 runs scheduled for tomorrow on a queue no worker serves: more than one page
        for i in range(55):
            app.enqueue(durable_uiapp.ui_order, 100 + i, queue=parked, delay=86400,
                        workflow_id=f"{parked}-{i:02d}")
        want = {"order1": "succeeded", "order2": "succeeded", "wobbly": "succeeded",
                "boom": "failed", "sleeper": "waiting", "parent": "succeeded", "slow": "running"}

        def settled() -> bool:
            rows = admin.execute("select id, status from durable.runs where queue = %s",
                                 [queue]).fetchall()
            got = dict(rows)
            return all(got.get(ids[k]) == s for k, s in want.items())
        wait_for(settled, timeout=60, what="the ui workflows to settle")
        yield {"dsn": dsn, "queue": queue, "parked": parked, "ids": ids, "roles": roles,
               "worker_id": worker_id, "admin": admin, "logs": logs}
    finally:
        worker.kill()
        worker.wait(10)
        worker_log.close()
        app.close()
        if env_before is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = env_before
        for role in roles.values():
            admin.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))
        admin.close()


class UiServer:
    """A real `durable ui` process serving the test database as one login."""

    def __init__(self, dsn: str, login: str, log: Path, allow_changes: bool):
        args = [sys.executable, "-m", "durable", "ui", "--dsn", make_conninfo(dsn, user=login),
                "--port", "0"] + (["--allow-changes"] if allow_changes else [])
        self.log_path = log
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(log, "wb"),  # noqa: SIM115
                                     text=True, cwd=ROOT)
        line = self.proc.stdout.readline()
        match = re.search(r"on (http://\S+/) ", line)
        assert match, f"durable ui did not start: {line!r} {log.read_text()}"
        self.url = match.group(1).rstrip("/")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


@pytest.fixture(scope="module")
def servers(scene: dict[str, Any]) -> Iterator[Callable[..., str]]:
    """servers(kind, allow_changes=False): the base URL of a dashboard as that login."""
    running: dict[tuple[str, bool], UiServer] = {}

    def get(kind: str, allow_changes: bool = False) -> str:
        key = (kind, allow_changes)
        if key not in running:
            running[key] = UiServer(scene["dsn"], scene["roles"][kind],
                                    scene["logs"] / f"ui-{kind}-{allow_changes}.log",
                                    allow_changes)
        return running[key].url

    yield get
    for server in running.values():
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (never a browser of Playwright's own)."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page, 1280 pixels wide."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    p = context.new_page()
    yield p
    context.close()


def shot(page: Any, name: str) -> None:
    """A screenshot of the whole page to tests/output/ui/NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000, f"{path} is empty"


def column(page: Any, table: str, index: int) -> list[str]:
    """The texts of one column (0-based) of a table's body rows."""
    return [t.strip() for t in page.locator(f"#{table} tbody tr td:nth-child({index + 1})")
            .all_inner_texts()]


def status_of(scene: dict[str, Any], key: str) -> str:
    return scene["admin"].execute("select status from durable.runs where id = %s",
                                  [scene["ids"][key]]).fetchone()[0]


# -- pages ---------------------------------------------------------------------------------------


def test_runs_page_lists_runs_newest_first_and_filters_change_the_rows(scene, servers, page):
    """The runs page shows the queue's runs newest first; status, name and id filters (the
    real form) change the rows; an exact id opens the run."""
    base, ids = servers("observer"), scene["ids"]
    page.goto(f"{base}/runs?queue={scene['queue']}")
    listed = column(page, "runs", 0)
    own = [i for i in listed if i.startswith(scene["queue"] + "-")]
    top_level = [ids[k] for k in ("slow", "parent", "sleeper", "boom", "wobbly", "order2",
                                  "order1")]
    assert [i for i in own if i in top_level] == top_level   # newest first
    assert len(listed) == len(top_level) + 2                 # and the parent's two children
    shot(page, "runs")

    page.select_option("select[name=status]", "failed")
    page.click("button[type=submit]")
    assert column(page, "runs", 0) == [ids["boom"]]
    assert "status=failed" in page.url

    page.select_option("select[name=status]", "")
    page.fill("input[name=name]", "ui_order")
    page.click("button[type=submit]")
    assert column(page, "runs", 0) == [ids["order2"], ids["order1"]]

    page.fill("input[name=name]", "nothing_has_this_name")
    page.click("button[type=submit]")
    assert page.locator("#no-runs").is_visible()

    page.goto(f"{base}/runs")
    page.fill("input[name=q]", ids["boom"])
    page.click("button[type=submit]")
    assert page.inner_text("#run-id") == ids["boom"]

    page.goto(f"{base}/runs?q={scene['queue']}-order")
    assert column(page, "runs", 0) == [ids["order2"], ids["order1"]]


def test_runs_page_time_range_filter(scene, servers, page):
    """Created since tomorrow shows nothing, since a day ago shows the queue's runs."""
    base = servers("observer")
    page.goto(f"{base}/runs?queue={scene['queue']}&since=2099-01-01")
    assert page.locator("#no-runs").is_visible()
    page.goto(f"{base}/runs?queue={scene['queue']}&since=1d&until=2099-01-01")
    assert scene["ids"]["order1"] in column(page, "runs", 0)
    page.goto(f"{base}/runs?since=yesterday-ish")
    assert "neither a duration" in page.inner_text("#problem")


def test_runs_page_is_keyset_paged(scene, servers, page):
    """55 runs: a first page of 50 and an 'older' link to the other 5, none twice."""
    base, parked = servers("observer"), scene["parked"]
    page.goto(f"{base}/runs?queue={parked}")
    first = column(page, "runs", 0)
    assert len(first) == 50
    page.click("#next")
    second = column(page, "runs", 0)
    assert len(second) == 5
    assert set(first) | set(second) == {f"{parked}-{i:02d}" for i in range(55)}
    assert page.locator("#next").count() == 0


def test_run_timeline_shows_the_steps_in_order_with_the_output(scene, servers, page):
    """A payload reader sees a run's three steps in the order they ran, its input and output."""
    page.goto(f"{servers('reader')}/run?id={scene['ids']['order1']}")
    assert column(page, "timeline", 4) == ["reserve", "charge", "ship"]
    assert column(page, "timeline", 3) == ["0", "1", "2"]
    assert "shipped 1" in page.inner_text("#output")
    assert page.inner_text(".status").strip() == "succeeded"
    shot(page, "run")


def test_failed_run_shows_its_error_and_traceback(scene, servers, page):
    """The failed run's error message and its traceback are on its page, and so is the failed
    step try in its timeline; a retried step shows its failed try before its success."""
    base = servers("reader")
    page.goto(f"{base}/run?id={scene['ids']['boom']}")
    assert "card declined for order 4" in page.inner_text("#error-message")
    traceback = page.inner_text("#traceback")
    assert "Traceback" in traceback and "decline" in traceback
    kinds = column(page, "timeline", 2)
    assert "step try failed" in kinds or "step" in kinds
    assert "card declined for order 4" in page.inner_text("#timeline")
    shot(page, "run-failed")

    page.goto(f"{base}/run?id={scene['ids']['wobbly']}")
    rows = list(zip(column(page, "timeline", 2), column(page, "timeline", 4)))
    assert rows.index(("step try failed", "wobbly")) < rows.index(("step", "wobbly"))
    assert "gateway timeout for order 3" in page.inner_text("#timeline")


def test_observer_sees_no_payloads(scene, servers, page):
    """As durable_observer the same pages show the error's type but no input, output, error
    message, traceback or step output."""
    base = servers("observer")
    page.goto(f"{base}/run?id={scene['ids']['boom']}")
    assert page.locator("#payloads").count() == 0
    assert page.locator("#payloads-hidden").is_visible()
    # the run's error type: the step's uncaught ValueError, recorded as its own class
    assert "ValueError" in page.inner_text("#error-type")
    assert "ValueError" in page.inner_text("#timeline")          # the step's
    text = page.content()
    assert "card declined" not in text and "Traceback" not in text and "card-4242" not in text
    assert "payloads hidden" in page.inner_text("#who")
    page.goto(f"{base}/run?id={scene['ids']['order1']}")
    assert column(page, "timeline", 4) == ["reserve", "charge", "ship"]
    assert "card-4242" not in page.content() and "shipped 1" not in page.content()
    shot(page, "run-observer")
    page.goto(f"{base}/errors")
    assert "card declined" not in page.content()


def test_waiting_run_children_and_parent(scene, servers, page):
    """A sleeping run says what it waits for; a parent lists its children, a child links back."""
    base, ids = servers("observer"), scene["ids"]
    page.goto(f"{base}/run?id={ids['sleeper']}")
    assert "sleep until" in page.inner_text("#waiting-for")
    assert "wait" in column(page, "timeline", 2)
    page.goto(f"{base}/run?id={ids['parent']}")
    kids = column(page, "children", 0)
    assert len(kids) == 2
    assert column(page, "children", 2) == ["succeeded", "succeeded"]
    page.click(f"#children a:text('{kids[0]}')")
    assert page.inner_text("#parent").strip() == ids["parent"]


def test_queues_page(scene, servers, page):
    """The queue's row counts its running and waiting runs; the last hour's chart counts the
    runs that finished."""
    page.goto(f"{servers('observer')}/queues")
    row = page.locator("#queues tbody tr", has=page.locator(f"a:text-is('{scene['queue']}')"))
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[2] == "1" and cells[3] == "1"          # running: slow; waiting: sleeper
    label = page.get_attribute("#throughput svg", "aria-label")
    succeeded = int(re.match(r"(\d+) succeeded", label).group(1))
    assert succeeded >= 6                               # 2 orders, wobbly, parent, 2 children
    assert page.locator("#throughput rect").count() >= 1
    shot(page, "queues")


def test_workers_page_shows_the_worker_and_what_it_holds(scene, servers, page):
    """The worker is alive and holds the long-running run."""
    page.goto(f"{servers('observer')}/workers")
    row = page.locator("#workers tbody tr", has=page.locator(
        f"td:text-is('{scene['worker_id']}')"))
    assert "alive" in row.inner_text()
    assert scene["ids"]["slow"] in row.locator("td").last.inner_text()  # runs it holds
    shot(page, "workers")


def test_errors_page_charts_and_lists_the_last_month(scene, servers, page):
    """The failed run is listed with its message; the failed step tries too; the chart's
    totals count them."""
    page.goto(f"{servers('reader')}/errors")
    assert scene["ids"]["boom"] in column(page, "failed-runs", 1)
    assert "card declined for order 4" in page.inner_text("#failed-runs")
    step_runs = column(page, "failed-steps", 1)
    assert scene["ids"]["boom"] in step_runs and scene["ids"]["wobbly"] in step_runs
    caption = page.inner_text("#errors-per-day figcaption")
    runs = int(re.search(r"failed runs: (\d+)", caption).group(1))
    steps = int(re.search(r"failed step tries: (\d+)", caption).group(1))
    assert runs >= 1 and steps >= 2
    shot(page, "errors")


# -- changes -------------------------------------------------------------------------------------


def test_read_only_dashboard_has_no_buttons_and_refuses_changes(scene, servers, page):
    """Without --allow-changes: no cancel button, the confirmation page and a POST are refused,
    and the run goes on."""
    base, slow = servers("operator"), scene["ids"]["slow"]
    page.goto(f"{base}/run?id={slow}")
    assert page.locator("#cancel").count() == 0
    assert "read-only" in page.inner_text("#who")
    response = page.goto(f"{base}/run/cancel?id={slow}")
    assert response.status == 403 and "--allow-changes" in page.inner_text("#problem")
    posted = page.request.post(f"{base}/run/cancel", form={"id": slow, "confirm": "yes",
                                                            "token": "x"})
    assert posted.status == 403
    assert status_of(scene, "slow") == "running"


def test_cancel_and_retry_with_allow_changes_and_confirmation(scene, servers, page):
    """With --allow-changes: Cancel leads to a confirmation page; a POST without the box ticked
    or without this process's token changes nothing; confirmed, the run is cancelled; then
    Retry runs it again."""
    base, slow = servers("operator", allow_changes=True), scene["ids"]["slow"]
    page.goto(f"{base}/run?id={slow}")
    page.click("#cancel")
    assert "/run/cancel" in page.url
    shot(page, "confirm")
    token = page.get_attribute("input[name=token]", "value")
    unticked = page.request.post(f"{base}/run/cancel", form={"id": slow, "token": token})
    assert unticked.status == 400
    forged = page.request.post(f"{base}/run/cancel", form={"id": slow, "token": "forged",
                                                            "confirm": "yes"})
    assert forged.status == 403
    assert status_of(scene, "slow") == "running"

    page.check("#confirm-box")
    page.click("#confirm-submit")
    assert "Cancelled" in page.inner_text("#done")
    assert status_of(scene, "slow") == "cancelled"

    page.click("#retry")
    page.check("#confirm-box")
    page.click("#confirm-submit")
    assert "Retried" in page.inner_text("#done")
    assert status_of(scene, "slow") in ("pending", "running")

    page.goto(f"{base}/run?id={scene['ids']['order1']}")   # finished: neither button
    assert page.locator("#cancel").count() == 0 and page.locator("#retry").count() == 0
    # a refusal of the SQL is shown, not a crash: order1 succeeded, it cannot be retried
    token = token or ""
    refused = page.request.post(f"{base}/run/retry", form={"id": scene["ids"]["order1"],
                                                           "token": token, "confirm": "yes"})
    assert refused.status == 409 and "DU014" in refused.text()

