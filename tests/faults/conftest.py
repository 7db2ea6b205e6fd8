"""Fixtures of the fault tests: one fresh database per pytest session, deployed with Sqitch.

The database is `durable_test_faults_<pid>_<random>` on the server that DURABLE_TEST_ADMIN_DSN
names (a libpq URI of its maintenance database, default the local server as root). It is
created, deployed with `sqitch deploy` from the repository root, handed to the tests as a DSN,
and dropped at the end (leftover connections are terminated first).

Knobs for longer hunts (the defaults keep the whole directory at about two minutes):
  DURABLE_FAULTS_EXAMPLES    hypothesis examples per bad-input test (default 30: 42 functions)
  DURABLE_FAULTS_ITERATIONS  iterations per lock-order race (default 100)
  DURABLE_FAULTS_SEED        explore the bad-input space from this seed instead of the fixed,
                             derandomized one
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[2]
ADMIN_DSN = os.environ.get("DURABLE_TEST_ADMIN_DSN", "postgresql://root@127.0.0.1:5432/postgres")

# libpq connection settings that Sqitch (through DBD::Pg and psql) reads from the environment
_PG_ENV = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER",
    "password": "PGPASSWORD", "passfile": "PGPASSFILE", "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT", "options": "PGOPTIONS",
}


def _sqitch_deploy(dbname: str) -> None:
    env = dict(os.environ)
    for key, value in conninfo_to_dict(ADMIN_DSN).items():
        if key in _PG_ENV and value is not None:
            env[_PG_ENV[key]] = str(value)
    env.setdefault("SQITCH_FULLNAME", "durable fault tests")
    env.setdefault("SQITCH_EMAIL", "durable-tests@localhost")
    # db:pg:<name> takes host, port, user and password from the PG* variables set above, which
    # also covers a socket directory that a db:pg://host/ URI cannot spell
    done = subprocess.run(
        ["sqitch", "deploy", f"db:pg:{dbname}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"sqitch deploy into {dbname} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )


def _drop(admin: psycopg.Connection, dbname: str) -> None:
    admin.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity"
        " where datname = %s and pid <> pg_backend_pid()",
        [dbname],
    )
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))


@pytest.fixture(scope="session")
def dsn():
    """DSN of a fresh database with the durable schema deployed; dropped after the session."""
    dbname = f"durable_test_faults_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
        try:
            _sqitch_deploy(dbname)
            yield make_conninfo(ADMIN_DSN, dbname=dbname)
        finally:
            _drop(admin, dbname)


@pytest.fixture(scope="session")
def superuser(dsn) -> bool:
    """True when the test role is a superuser (needed to pin durable.fake_now, to set
    deadlock_timeout and to read heap pages with pageinspect)."""
    with psycopg.connect(dsn) as conn:
        return bool(conn.execute("select rolsuper from pg_roles where rolname = current_user")
                    .fetchone()[0])


@pytest.fixture(scope="session")
def pageinspect(dsn, superuser) -> bool:
    """True when the extension pageinspect could be created in the test database: the lock-order
    probes read the heap pages of durable's tables to see which rows a blocked session wrote or
    locked before it blocked."""
    if not superuser:
        return False
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute("create extension if not exists pageinspect")
        except psycopg.Error:
            return False
    return True
