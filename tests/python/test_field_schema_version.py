"""Issue 8, item 6 (client part): the client checks durable.version() on the first connection
of an app, a worker or the CLI, and refuses a schema it does not support with a message that
says what to run: no schema, one older than 0.2.0 (no durable.version()), or a major.minor other
than durable.SCHEMA_VERSION.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from click.testing import CliRunner

import durable
from deploytools import Scratch, sqitch_ok
from durable import db
from durable.cli import main


@pytest.fixture(scope="module")
def scratch() -> Iterator[Scratch]:
    made = Scratch()
    yield made
    made.drop_all()


@pytest.fixture(scope="module")
def v010(scratch: Scratch) -> str:
    """A database deployed up to @v0.1.0, whose schema has no durable.version()."""
    dsn = scratch.database("field_v010")
    sqitch_ok("deploy", dsn, "--no-verify", "--to", "@v0.1.0")
    return dsn


def _versioned(scratch: Scratch, version: str) -> str:
    """A database whose durable.version() says version (and holds nothing else)."""
    dsn = scratch.database("field_version")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create schema durable")
        conn.execute("create function durable.version() returns text language sql"
                     f" as $$ select '{version}' $$")
    return dsn


def test_the_supported_version_is_one_constant_and_the_deployed_schema_has_it(dsn):
    assert durable.SCHEMA_VERSION == "0.2"
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert db.check_schema(conn).startswith("0.2.")


def test_a_schema_older_than_0_2_is_refused_by_the_app_worker_and_cli(v010):
    app = durable.Durable(v010)
    with pytest.raises(durable.DurableError, match="durable db deploy") as info:
        app.enqueue("script", {"steps": []})
    assert type(info.value).__name__ == "UnsupportedSchema"
    assert "older than 0.2.0" in str(info.value)
    with pytest.raises(durable.UnsupportedSchema, match="durable db deploy"):
        app.enqueue("script", conn=psycopg.connect(v010, autocommit=True))
    worker = durable.Worker(app, queues=["default"], poll_interval=0.1, grace=0)
    with pytest.raises(durable.UnsupportedSchema, match="durable db deploy"):
        worker.run(install_signals=False)
    result = CliRunner().invoke(main, ["--dsn", v010, "list"], catch_exceptions=False)
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "durable db deploy" in result.output and "Traceback" not in result.output
    with psycopg.connect(v010, autocommit=True) as conn:  # nothing was written
        assert conn.execute("select count(*) from durable.workflows").fetchone()[0] == 0
        assert conn.execute("select count(*) from durable.workers").fetchone()[0] == 0


@pytest.mark.parametrize(("version", "todo"), [
    ("0.1.9", "upgrade the schema with `durable db deploy`"),
    ("0.3.0", "install a durable client that supports it"),
    ("1.2.0", "install a durable client that supports it"),
])
def test_another_major_minor_is_refused_with_what_to_do(scratch, version, todo):
    dsn = _versioned(scratch, version)
    with pytest.raises(durable.DurableError, match=version) as info:
        durable.Durable(dsn).connection()
    assert type(info.value).__name__ == "UnsupportedSchema"
    assert todo in str(info.value) and "sqitch deploy" in str(info.value)


def test_another_patch_version_is_accepted(scratch):
    dsn = _versioned(scratch, "0.2.7")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert db.check_schema(conn) == "0.2.7"


def test_the_check_runs_once_per_app(dsn, monkeypatch):
    """Later connections of the same app, and its calls, do not ask again."""
    calls: list[str] = []
    real = db.check_schema

    def counted(conn: psycopg.Connection) -> str:
        calls.append(conn.info.dbname)
        return real(conn)

    monkeypatch.setattr(db, "check_schema", counted)
    app = durable.Durable(dsn)
    try:
        app.set_queue("default")
        app.set_queue("default")
        app.connection().close()
        app.set_queue("default")  # on a new connection of the same app
        with psycopg.connect(dsn, autocommit=True) as own:
            app.enqueue("script", {"steps": []}, conn=own, delay=3600)
    finally:
        app.close()
    assert len(calls) == 1
