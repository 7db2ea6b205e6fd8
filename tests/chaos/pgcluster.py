"""Private PostgreSQL clusters for fault runs: start, crash (immediate shutdown), replicate,
promote. The chaos and failover runs restart and kill servers, so they never touch the server
the rest of the suite uses: each builds its own clusters in a temporary folder, on free ports,
and removes them at the end.

initdb refuses to run as root; as root the server processes run as the `postgres` OS user
(or `nobody`), the superuser role is still named after the caller, and trust auth is local-only
(127.0.0.1 and the cluster's own socket folder).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def bindir() -> Path:
    """The folder of initdb, pg_ctl and pg_basebackup: $PG_BINDIR, pg_config's, or PATH's."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError("no initdb found: set PG_BINDIR to the PostgreSQL bin folder")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user() -> str | None:
    """The OS user to run the server as when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


class Cluster:
    """One PostgreSQL server in folder `root`/`name`, listening on 127.0.0.1:`port`."""

    def __init__(self, root: Path, name: str, port: int | None = None):
        self.root = root
        self.name = name
        self.datadir = root / name
        self.port = port or free_port()
        self.superuser = pwd.getpwuid(os.geteuid()).pw_name
        self.os_user = _server_user()
        self.bin = bindir()

    # -- processes ------------------------------------------------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.os_user:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check)

    def initdb(self, **settings: str) -> Cluster:
        """Create the cluster with trust auth for local connections and the given settings."""
        self._own(self.root)
        self._run("initdb", "-D", str(self.datadir), "-U", self.superuser, "--auth=trust",
                  "-E", "UTF8", "--no-instructions")
        base = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "100",
            "shared_buffers": "'64MB'",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "hot_standby": "on",
            "logging_collector": "off",
        }
        base.update(settings)
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write("\n# durable fault runs\n")
            conf.writelines(f"{key} = {value}\n" for key, value in base.items())
        with open(self.datadir / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        return self

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.os_user:
            shutil.chown(path, self.os_user, self.os_user)

    @property
    def log(self) -> Path:
        return self.root / f"{self.name}.log"

    def start(self, timeout: float = 30) -> None:
        """Start the server and wait until it accepts connections."""
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-w",
                  "-t", str(int(timeout)), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: mode fast (clean) or immediate (a crash: no checkpoint)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    def crash_restart(self) -> float:
        """Immediate shutdown then start again, as after a power cut; returns the downtime (s)."""
        began = time.monotonic()
        self.stop("immediate")
        self.start()
        return time.monotonic() - began

    def promote(self) -> None:
        """Turn this standby into a primary."""
        self._run("pg_ctl", "-D", str(self.datadir), "-w", "promote")

    def is_up(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.datadir), "status", check=False).returncode == 0

    # -- replication ----------------------------------------------------------------------------

    def standby(self, name: str, synchronous: bool = True) -> Cluster:
        """A streaming standby of this (running) primary, started; synchronous by default."""
        replica = Cluster(self.root, name)
        self._run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.superuser,
                  "-D", str(replica.datadir), "-R", "-X", "stream", "-c", "fast")
        with open(replica.datadir / "postgresql.auto.conf", "a") as conf:
            conf.write(f"port = {replica.port}\n")
            conf.write(f"primary_conninfo = 'host=127.0.0.1 port={self.port} "
                       f"user={self.superuser} application_name={name}'\n")
        replica.start()
        if synchronous:
            self.sql(f"alter system set synchronous_standby_names = '{name}'")
            self.sql("select pg_reload_conf()")
            deadline = time.monotonic() + 30
            while self.sql(f"select sync_state from pg_stat_replication "
                           f"where application_name = '{name}'") != "sync":
                if time.monotonic() > deadline:
                    raise RuntimeError(f"standby {name} did not become synchronous")
                time.sleep(0.1)
        return replica

    # -- access ---------------------------------------------------------------------------------

    def dsn(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{dbname}"

    def sql(self, query: str, dbname: str = "postgres") -> str:
        """Run one statement with psql and return its unaligned output."""
        out = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                              "-d", self.dsn(dbname), "-c", query],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()


def workspace(prefix: str = "durable-fault-") -> Path:
    """A temporary folder short enough for a socket path; the caller removes it."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def remove(root: Path, *clusters: Cluster) -> None:
    """Stop the clusters (immediately) and delete their folder."""
    for cluster in clusters:
        cluster.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)


def deploy(cluster: Cluster, dbname: str, repo: Path) -> str:
    """Create database dbname on the cluster, deploy durable into it with Sqitch, return its DSN."""
    cluster.sql(f"create database {dbname}")
    env = dict(os.environ, SQITCH_FULLNAME=os.environ.get("SQITCH_FULLNAME", "durable faults"),
               SQITCH_EMAIL=os.environ.get("SQITCH_EMAIL", "durable-faults@localhost"))
    subprocess.run(["sqitch", "--quiet", "deploy",
                    f"db:pg://{cluster.superuser}@127.0.0.1:{cluster.port}/{dbname}"],
                   cwd=repo, env=env, check=True, capture_output=True, text=True)
    return cluster.dsn(dbname)
