"""The dashboard's parts without a browser: time filters, chart geometry, and the application
(Flask's test client) against the real test database: the Host check, the read-only sessions,
the login's rights, the security headers. The pages themselves: test_ui_browser.py."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from durable.ui import UiError, charts, create_app, parse_when, queries

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def test_parse_when_reads_durations_ago_and_iso_times():
    assert parse_when("90s", "since", NOW) == NOW - timedelta(seconds=90)
    assert parse_when(" 2h ", "since", NOW) == NOW - timedelta(hours=2)
    assert parse_when("7d", "since", NOW) == NOW - timedelta(days=7)
    assert parse_when("2026-11-30", "since", NOW) == datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert parse_when("2026-11-30T08:00+01:00", "until", NOW) == datetime(
        2026, 11, 30, 7, 0, tzinfo=timezone.utc)
    assert parse_when("", "since", NOW) is None
    assert parse_when(None, "since", NOW) is None


def test_parse_when_refuses_other_text_with_what_to_write():
    with pytest.raises(UiError) as caught:
        parse_when("last tuesday", "since", NOW)
    assert caught.value.status == 400
    assert "since" in caught.value.message and "30m, 2h, 7d" in caught.value.message


def test_bars_scale_to_a_round_top_and_keep_the_values():
    chart = charts.bars([("a", [3, 0]), ("b", [7, 1]), ("c", [0, 0])], ["ok", "bad"],
                        width=300, height=118, label_every=2)
    assert chart.top == 10
    assert chart.total == [10, 1]
    assert [label for _, label in chart.labels] == ["a", "c"]         # back from the last
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.title == "b: 7 ok"
    assert tallest.height == pytest.approx(0.7 * (118 - 18 - 8))     # 7 of 10 of the plot
    assert tallest.y + tallest.height == pytest.approx(118 - 18)     # standing on the axis
    assert all(b.height == 0 for b in chart.bars if b.title.startswith("c:"))


def test_bars_with_no_data_draw_an_empty_chart():
    chart = charts.bars([("a", [0])], ["ok"])
    assert chart.top == 1 and chart.total == [0] and chart.bars[0].height == 0


@pytest.fixture
def observer_dsn(dsn: str, conn: psycopg.Connection):
    """A DSN of a new login granted durable_observer only (dropped after)."""
    role = f"durable_test_ui_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("create role {} login in role durable_observer").format(
        sql.Identifier(role)))
    try:
        yield make_conninfo(dsn, user=role)
    finally:
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_access_tells_payload_readers_and_clients_from_observers(dsn, observer_dsn):
    with psycopg.connect(observer_dsn, autocommit=True) as c:
        seen = queries.access(c)
    assert (seen.payloads, seen.can_cancel, seen.can_retry) == (False, False, False)
    assert seen.can_count_failures
    with psycopg.connect(dsn, autocommit=True) as c:
        admin = queries.access(c)
    assert (admin.payloads, admin.can_cancel, admin.can_retry) == (True, True, True)


def test_failure_counts_agree_with_the_views(conn, queue):
    """durable.failures_per_day and the views' count of the same failures give the same days
    (the view form serves logins that may not call the function)."""
    wid = f"ui-fail-{uuid.uuid4().hex[:8]}"
    conn.execute("select durable.enqueue('ui_unit', '{}', %s, p_workflow_id => %s,"
                 " p_max_attempts => 1)", [queue, wid])
    lease = conn.execute("select lease from durable.claim('ui-unit-worker', array[%s], 1)",
                         [queue]).fetchone()[0]
    conn.execute("""select durable.fail(%s, %s, '{"type": "E"}', false)""", [wid, lease])
    counted = {r["day"]: (r["runs"], r["steps"]) for r in queries.errors_per_day(conn)
               if r["runs"] or r["steps"]}
    viewed = {r["day"]: (r["runs"], r["steps"])
              for r in queries.errors_per_day(conn, counted=False)}
    assert counted == viewed
    assert sum(runs for runs, _ in counted.values()) >= 1


def test_observer_app_serves_pages_without_payloads(observer_dsn, conn, queue):
    wid = f"ui-unit-{uuid.uuid4().hex[:8]}"
    conn.execute("select durable.enqueue('ui_unit', '{\"secret\": \"hush-123\"}', %s,"
                 " p_workflow_id => %s)", [queue, wid])
    app = create_app(observer_dsn)
    try:
        client = app.test_client()
        page = client.get(f"/run?id={wid}")
        assert page.status_code == 200
        assert wid in page.text and "hush-123" not in page.text
        assert "payloads hidden" in page.text
        for url in ("/runs", f"/runs?queue={queue}", "/queues", "/workers", "/errors"):
            assert client.get(url).status_code == 200, url
    finally:
        app.extensions["durable_pool"].close()


def test_read_only_sessions_refuse_writes_in_the_server(dsn, conn, queue):
    """Without allow_changes the dashboard's sessions are read-only: even a durable.cancel sent
    on one (by a bug of ours) is refused by the server and changes nothing."""
    wid = f"ui-ro-{uuid.uuid4().hex[:8]}"
    conn.execute("select durable.enqueue('ui_unit', '{}', %s, p_workflow_id => %s)",
                 [queue, wid])
    app = create_app(dsn)
    try:
        with app.extensions["durable_pool"].connection() as c, \
                pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            c.execute("select durable.cancel(%s)", [wid])
    finally:
        app.extensions["durable_pool"].close()
    assert conn.execute("select status from durable.runs where id = %s",
                        [wid]).fetchone()[0] == "pending"


def test_loopback_binding_refuses_other_host_names(dsn):
    """Bound to 127.0.0.1 the dashboard answers only requests for a loopback name, so a page of
    another site whose name resolves to 127.0.0.1 (DNS rebinding) cannot read it."""
    app = create_app(dsn)
    try:
        client = app.test_client()
        assert client.get("/runs", headers={"Host": "127.0.0.1:8188"}).status_code == 200
        assert client.get("/runs", headers={"Host": "localhost"}).status_code == 200
        assert client.get("/runs", headers={"Host": "evil.example:8188"}).status_code == 400
    finally:
        app.extensions["durable_pool"].close()
    wide = create_app(dsn, host="0.0.0.0")
    try:
        assert wide.test_client().get("/runs", headers={"Host": "dash.example"}).status_code \
            == 200
    finally:
        wide.extensions["durable_pool"].close()


def test_pages_send_a_strict_content_security_policy(dsn):
    app = create_app(dsn)
    try:
        response = app.test_client().get("/queues")
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        app.extensions["durable_pool"].close()


def test_unknown_run_and_bad_filters_are_explained(dsn):
    app = create_app(dsn)
    try:
        client = app.test_client()
        missing = client.get("/run?id=no-such-run")
        assert missing.status_code == 404 and "no workflow run has the id" in missing.text
        bad = client.get("/runs?status=sleeping")
        assert bad.status_code == 400 and "is not one of" in bad.text
        link = client.get("/runs?before_at=yesterday&before_id=x")
        assert link.status_code == 400 and "first page" in link.text
        assert client.post("/run/cancel", data={"id": "x"}).status_code == 403
    finally:
        app.extensions["durable_pool"].close()


def test_workers_page_shows_connections_and_the_adaptive_limit(observer_dsn, conn):
    """The workers page shows what each worker's heartbeat reported of its share of the
    database: the server connections it holds and its adaptive limit (issue 16)."""
    worker = f"share-{uuid.uuid4().hex[:6]}"
    conn.execute("select * from durable.heartbeat(%s, p_busy => 1, p_connections => 11,"
                 " p_concurrency_limit => 23)", [worker])
    app = create_app(observer_dsn)
    try:
        page = app.test_client().get("/workers")
        assert page.status_code == 200
        row = page.text[page.text.index(worker):]
        row = row[:row.index("</tr>")]
        cells = re.findall(r'<td class="num">(\d*)</td>', row)
        assert cells[-3:] == ["1", "11", "23"]  # busy slots, connections, limit
        assert "connections" in page.text and "limit" in page.text
    finally:
        app.extensions["durable_pool"].close()
        conn.execute("select durable.release(%s)", [worker])
