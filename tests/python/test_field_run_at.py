"""Issue 9, item 15: run_at must say its time zone.

A naive datetime used to be read in the session's time zone (5 hours off with
PGTZ=America/New_York); it is refused, and an aware one means the same instant whatever the
session's time zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

import durable
from durable import db


def test_a_naive_run_at_is_refused(app, conn, queue):
    naive = datetime(2031, 1, 2, 3, 4, 5)
    with pytest.raises(durable.DurableError, match="time zone") as info:
        app.enqueue("script", {"steps": []}, queue=queue, run_at=naive)
    assert isinstance(info.value, ValueError)
    with pytest.raises(durable.DurableError, match="time zone"):
        db.enqueue(conn, "script", [], queue=queue, run_at=naive)
    assert conn.execute("select count(*) from durable.workflows where queue = %s",
                        [queue]).fetchone()[0] == 0


def test_an_aware_run_at_is_the_same_instant_in_any_session_time_zone(dsn, conn, queue):
    when = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    with psycopg.connect(dsn, autocommit=True, options="-c TimeZone=America/New_York") as ny:
        app = durable.Durable(dsn)
        wid = app.enqueue("script", {"steps": []}, queue=queue, run_at=when,
                          conn=ny).workflow_id
    run_at = conn.execute("select run_at from durable.workflows where id = %s",
                          [wid]).fetchone()[0]
    assert run_at == when
