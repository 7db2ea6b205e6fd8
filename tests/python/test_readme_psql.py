"""README's "A workflow by hand, in psql" block, run as a psql script against a fresh durable
database: every line does what its comment says."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from conftest import ADMIN_DSN, ROOT


@pytest.fixture
def fresh() -> Iterator[str]:
    """A fresh database with durable installed (psql -f sql/durable.sql), dropped after."""
    name = f"durable_test_py_readme_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = make_conninfo(ADMIN_DSN, dbname=name)
    try:
        subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f",
                        str(ROOT / "sql" / "durable.sql")], check=True, capture_output=True)
        yield dsn
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


def _block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("### A workflow by hand, in psql", 1)[1]
    return re.search(r"```sql\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_the_psql_walkthrough_does_what_it_says(fresh):
    done = subprocess.run(["psql", "-X", "-d", fresh, "-f", "-"],
                          input="\\set VERBOSITY verbose\n" + _block(), capture_output=True,
                          text=True, timeout=60)
    out, err = done.stdout, done.stderr
    # one error, the last statement's: the old lease is refused with DU001
    assert err.count("ERROR") == 1, (out, err)
    assert "DU001" in err, err
    # worker-b got the recorded step to replay
    assert '"name": "render_pdf"' in out and '"pages": 2' in out, out
    assert "succeeded" in out, out
    conn = psycopg.connect(fresh, autocommit=True)
    row = conn.execute("select status, output, owner from durable.runs where id = 'invoice-42'"
                       ).fetchone()
    assert row[0] == "succeeded" and row[1] == {"ok": True}
    steps = conn.execute("select step_id, name from durable.run_steps"
                         " where workflow_id = 'invoice-42' order by step_id").fetchall()
    conn.close()
    assert steps == [(0, "render_pdf"), (1, "send_mail")]
