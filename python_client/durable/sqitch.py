"""Running Sqitch (deploy, verify, revert, status) against a database named by a libpq DSN."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .db import resolve_dsn
from .errors import DurableError

# libpq connection parameters and the environment variables libpq (and so Sqitch) reads them from
_ENV = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER",
    "password": "PGPASSWORD", "dbname": "PGDATABASE", "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY",
    "passfile": "PGPASSFILE", "service": "PGSERVICE", "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS", "application_name": "PGAPPNAME",
}

INSTALL_HINT = ("sqitch is not installed (or not on PATH). Install it, e.g. on Debian/Ubuntu: "
                "apt-get install sqitch libdbd-pg-perl; elsewhere see https://sqitch.org/download/")


class SqitchError(DurableError):
    """Sqitch is missing, or the Sqitch project cannot be found."""


def find_project(start: Path | None = None) -> Path:
    """The folder holding sqitch.plan: start (default the working directory) or a parent of it,
    else the repository this package is installed from."""
    candidates = [start or Path.cwd(), Path(__file__).resolve().parent]
    for base in candidates:
        for folder in (base, *base.parents):
            if (folder / "sqitch.plan").is_file():
                return folder
    raise SqitchError("cannot find the Sqitch project (a folder with sqitch.plan) from "
                      f"{candidates[0]}: run this in the durable repository or pass --project")


def target_and_env(dsn: str | None) -> tuple[str, dict[str, str]]:
    """The Sqitch target (db:pg:DBNAME) and the environment that carries the rest of the DSN
    (host, port, user, password, ...) the way libpq reads it; works for socket folders too."""
    params = conninfo_to_dict(resolve_dsn(dsn))
    env = dict(os.environ)
    for key, value in params.items():
        var = _ENV.get(key)
        if var and value is not None:
            env[var] = str(value)
    env.setdefault("SQITCH_FULLNAME", "durable")
    env.setdefault("SQITCH_EMAIL", "durable@localhost")
    dbname = params.get("dbname")
    return (f"db:pg:{dbname}" if dbname else "db:pg:"), env


def run(command: str, dsn: str | None, *, project: Path | None = None,
        args: Sequence[str] = (), on_line: Callable[[str], None] | None = None) -> int:
    """Run `sqitch COMMAND [ARGS] TARGET` in the project folder; returns its exit status. With
    on_line, each line Sqitch prints on stdout goes to it (without its newline) instead."""
    exe = shutil.which("sqitch")
    if exe is None:
        raise SqitchError(INSTALL_HINT)
    folder = find_project(project)
    target, env = target_and_env(dsn)
    if on_line is None:
        return subprocess.call([exe, command, *args, target], cwd=folder, env=env)
    with subprocess.Popen([exe, command, *args, target], cwd=folder, env=env,
                          stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            on_line(line.rstrip("\n"))
    return proc.returncode


def plan_changes(project: Path | None = None) -> tuple[str, int]:
    """The project's name and how many changes its sqitch.plan lists (a reworked change once
    per rework: each is deployed on its own)."""
    name, count = "", 0
    for line in (find_project(project) / "sqitch.plan").read_text().splitlines():
        text = line.strip()
        if text.startswith("%project="):
            name = text.partition("=")[2]
        elif text and text[0] not in "%@#":
            count += 1
    return name, count


def deployed_changes(dsn: str | None, project_name: str) -> int | None:
    """How many changes of the project the database's Sqitch registry (schema sqitch, as
    sqitch.conf sets it) records as deployed: 0 without a registry, None when the database
    cannot be read."""
    try:
        with psycopg.connect(resolve_dsn(dsn), autocommit=True, connect_timeout=10) as conn:
            found = conn.execute("select to_regclass('sqitch.changes')").fetchone()
            if found is None or found[0] is None:
                return 0
            row = conn.execute("select count(*) from sqitch.changes where project = %s",
                               [project_name]).fetchone()
            return int(row[0]) if row is not None else 0
    except psycopg.Error:
        return None


def installed_without_sqitch(dsn: str | None, project_name: str) -> bool:
    """Whether the database has schema durable but its Sqitch registry records no change of
    the project: installed with `psql -f sql/durable.sql` (or the registry was dropped). A
    deploy would stop at "schema durable already exists". False when it cannot be read."""
    try:
        with psycopg.connect(resolve_dsn(dsn), autocommit=True, connect_timeout=10) as conn:
            found = conn.execute("select to_regnamespace('durable')").fetchone()
            if found is None or found[0] is None:
                return False
    except psycopg.Error:
        return False
    return deployed_changes(dsn, project_name) == 0


def adopt_recipe(dsn: str | None) -> str:
    """What to do with a database installed from sql/durable.sql (README: Upgrading)."""
    target, _ = target_and_env(dsn)
    return (
        "schema durable exists but Sqitch has recorded no change of it: it was installed with "
        "psql -f sql/durable.sql. Record the plan once as deployed, without running it, then "
        "deploy as usual (README: Upgrading):\n"
        f"  sqitch deploy --log-only --no-verify {target}   # a file of this checkout: the "
        "whole plan; a file of a release: add --to @vX.Y.Z, its tag\n"
        f"  sqitch verify {target}\n"
        "  durable db deploy\n"
        "(run sqitch in the folder of sqitch.plan, with the connection in PGHOST, PGPORT, "
        "PGUSER; add --set role_prefix=NAME to verify if the file was run with one)")


def changes_to_run(command: str, dsn: str | None, project: Path | None = None) -> int | None:
    """How many changes `sqitch COMMAND` (deploy, revert or verify, of the whole plan) will go
    through; None when that cannot be known."""
    name, planned = plan_changes(project)
    deployed = deployed_changes(dsn, name)
    if deployed is None:
        return None
    return max(planned - deployed, 0) if command == "deploy" else deployed
