"""Running Sqitch (deploy, verify, revert, status) against a database named by a libpq DSN."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

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
        args: Sequence[str] = ()) -> int:
    """Run `sqitch COMMAND [ARGS] TARGET` in the project folder; returns its exit status."""
    exe = shutil.which("sqitch")
    if exe is None:
        raise SqitchError(INSTALL_HINT)
    folder = find_project(project)
    target, env = target_and_env(dsn)
    return subprocess.call([exe, command, *args, target], cwd=folder, env=env)
