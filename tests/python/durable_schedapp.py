"""The app the worker processes of test_schedules.py run (`durable worker durable_schedapp:app`).

One workflow on a schedule of every second, declared with @app.schedule: the worker sets it in
the database when it starts and materializes due ticks with each heartbeat. The schedule's
name, queue, missed-tick policy and grace come from the environment, so that each test has its
own. Each run records itself in schedapp.runs in its step's transaction (exactly once).
"""

from __future__ import annotations

import os

import psycopg

import durable

app = durable.Durable(os.environ.get("DATABASE_URL"))

SCHEMA = """
create schema if not exists schedapp;
create table if not exists schedapp.runs (
  workflow_id text not null,
  pid integer not null,
  at timestamptz not null default clock_timestamp()
);
"""


@app.transaction()
def record(conn: psycopg.Connection) -> int:
    """Write this run's row with its checkpoint (one transaction): once per workflow."""
    conn.execute("insert into schedapp.runs (workflow_id, pid) values (%s, %s)",
                 [durable.step_info().workflow_id, os.getpid()])
    return os.getpid()


@app.schedule("* * * * * *", name=os.environ.get("DURABLE_SCHED_NAME", "every-second"),
              missed=os.environ.get("DURABLE_SCHED_MISSED", "skip"),
              grace=float(os.environ.get("DURABLE_SCHED_GRACE", "60")),
              queue=os.environ.get("DURABLE_SCHED_QUEUE"))
@app.workflow()
def tick() -> int:
    """A scheduled run: one step."""
    return record()
