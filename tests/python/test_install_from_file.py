"""A database installed with `psql -f sql/durable.sql` has the schema but no Sqitch registry:
`durable db deploy` says how to bring it under Sqitch instead of relaying "schema durable
already exists", and that recipe (README: Upgrading) works: record the whole plan without
running it, verify, and deploy ("Nothing to deploy")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from conftest import ADMIN_DSN, ROOT

pytestmark = pytest.mark.skipif(shutil.which("sqitch") is None, reason="needs sqitch")


@pytest.fixture
def file_installed() -> Iterator[tuple[str, str]]:
    """(dsn, database name) of a fresh database installed with psql -f sql/durable.sql."""
    name = f"durable_test_py_file_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    dsn = make_conninfo(ADMIN_DSN, dbname=name)
    try:
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f",
                        str(ROOT / "sql" / "durable.sql")], check=True, capture_output=True)
        yield dsn, name
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


def _durable(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "durable", "--dsn", dsn, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_db_deploy_over_a_file_install_prints_the_recipe(file_installed):
    dsn, _ = file_installed
    done = _durable(dsn, "db", "deploy")
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "sqitch deploy --log-only --no-verify" in said, said
    assert "already exists" not in said, said
    # nothing was changed: still no registry
    with psycopg.connect(dsn) as c:
        assert c.execute("select to_regclass('sqitch.changes')").fetchone()[0] is None


def test_the_readme_recipe_brings_a_file_install_under_sqitch(file_installed):
    dsn, name = file_installed
    target = f"db:pg:{name}"
    env = dict(os.environ, PGHOST="127.0.0.1", PGUSER="root", PGPORT="5432")
    env.update({k: v for k, v in os.environ.items() if k.startswith("PG")})
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    for key, var in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER")):
        if params.get(key):
            env[var] = str(params[key])
    for args in (["deploy", "--log-only", "--no-verify"], ["verify"], ["deploy"]):
        done = subprocess.run(["sqitch", *args, target], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "Nothing to deploy" in done.stdout
    assert _durable(dsn, "db", "deploy").returncode == 0
