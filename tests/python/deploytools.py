"""Fresh databases and roles of a test's own, and Sqitch and psql run against them.

Used by the tests that deploy the schema themselves (test_upgrade.py, test_roles.py) instead of
using the session database of conftest.py. A Scratch remembers every database and role it made
and drops them at the end: in each database `drop owned by` the roles first, then the database,
then the roles (never anything it did not make).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from durable import sqitch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ADMIN_DSN = os.environ.get("DURABLE_TEST_ADMIN_DSN", "postgresql://root@127.0.0.1:5432/postgres")


def run_sqitch(command: str, dsn: str, *args: str) -> subprocess.CompletedProcess:
    """`sqitch COMMAND ARGS TARGET` in the repository, for the database of dsn (not checked)."""
    target, env = sqitch.target_and_env(dsn)
    return subprocess.run(["sqitch", command, *args, target], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)


def sqitch_ok(command: str, dsn: str, *args: str) -> str:
    """run_sqitch, asserting it succeeded; its output."""
    done = run_sqitch(command, dsn, *args)
    assert done.returncode == 0, f"sqitch {command} {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def run_psql_file(dsn: str, path: Path, **variables: str) -> subprocess.CompletedProcess:
    """`psql -X -q -v NAME=VALUE ... -f path` against the database of dsn (not checked)."""
    _, env = sqitch.target_and_env(dsn)
    options = [opt for name, value in variables.items() for opt in ("-v", f"{name}={value}")]
    return subprocess.run(["psql", "-X", "-q", *options, "-f", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)


def unique(stem: str) -> str:
    """stem followed by a short random suffix: a name no other run uses."""
    return f"{stem}{uuid.uuid4().hex[:8]}"


class Scratch:
    """Databases and roles made by one test module, all dropped by drop_all()."""

    def __init__(self) -> None:
        self.databases: list[str] = []
        self.roles: list[str] = []  # in creation order; dropped in reverse

    def database(self, stem: str, template: str | None = None) -> str:
        """Create a fresh database durable_test_<stem>_<unique>, empty or a copy of the
        database of DSN template (nobody may be connected to it); its DSN."""
        name = unique(f"durable_test_{stem}_{os.getpid()}_")
        create = sql.SQL("create database {}").format(sql.Identifier(name))
        if template is not None:
            source = conninfo_to_dict(template)["dbname"]
            create += sql.SQL(" template {}").format(sql.Identifier(source))
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(create)
        self.databases.append(name)
        return make_conninfo(ADMIN_DSN, dbname=name)

    def adopt_roles(self, *names: str) -> None:
        """Remember roles made on our behalf (by a deploy with a prefix of our own) to drop."""
        self.roles.extend(n for n in names if n not in self.roles)

    def login(self, name: str, *granted: str) -> str:
        """Create login role name (no password: the test cluster trusts local TCP), granted
        the roles given; its name."""
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("create role {} login").format(sql.Identifier(name)))
            self.roles.append(name)
            for role in granted:
                admin.execute(sql.SQL("grant {} to {}").format(
                    sql.Identifier(role), sql.Identifier(name)))
        return name

    def drop_all(self) -> None:
        """Drop our databases (after `drop owned by` our roles in each), then our roles."""
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            existing = [r for (r,) in admin.execute(
                "select rolname from pg_catalog.pg_roles where rolname = any(%s)",
                [self.roles]).fetchall()]
            ours = [r for r in reversed(self.roles) if r in existing]
            for name in self.databases:
                if ours and admin.execute("select 1 from pg_catalog.pg_database where datname = %s",
                                          [name]).fetchone():
                    with psycopg.connect(make_conninfo(ADMIN_DSN, dbname=name),
                                         autocommit=True) as db:
                        db.execute(sql.SQL("drop owned by {}").format(
                            sql.SQL(", ").join(map(sql.Identifier, ours))))
                admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                    sql.Identifier(name)))
            if ours:
                admin.execute(sql.SQL("drop owned by {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, ours))))
            for role in ours:
                admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
        self.databases.clear()
        self.roles.clear()
