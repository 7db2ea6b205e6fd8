"""The CLI's progress bars and live view, against real databases: `db deploy|verify|revert`
and `enqueue --wait` draw a bar on a terminal (a real pseudo-terminal here) and print what
they always printed elsewhere; `durable top` shows queues and workers, refreshes, and quits on
q or Ctrl-C, giving the terminal back as it found it."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql
from psycopg.conninfo import make_conninfo

from conftest import ADMIN_DSN, ROOT, wait_for
from durable import db
from durable.cli import main

HERE = Path(__file__).resolve().parent


def _plan_changes() -> int:
    """How many changes sqitch.plan lists (what a deploy into an empty database goes through)."""
    lines = (ROOT / "sqitch.plan").read_text().splitlines()
    return sum(1 for line in lines if line.strip() and line.strip()[0] not in "%@#")


class Terminal:
    """A `python -m durable ARGS` process whose stderr (and, with full=True, stdin and stdout)
    is a pseudo-terminal; everything written to the terminal is collected in .screen."""

    def __init__(self, *args: str, full: bool = False, env: dict | None = None):
        master, slave = pty.openpty()
        self.master, self.slave = master, slave
        self.chunks: list[bytes] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "durable", *args], cwd=HERE,
            stdin=slave if full else subprocess.DEVNULL,
            stdout=slave if full else subprocess.PIPE, stderr=slave,
            env=dict(os.environ, COLUMNS="120", **(env or {})))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if ready:
                    data = os.read(self.master, 4096)
                    if not data:
                        return
                    self.chunks.append(data)
                elif self.proc.poll() is not None:
                    return
            except OSError:  # EIO: the terminal's last writer is gone
                return

    @property
    def screen(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        """Wait for the exit; (exit status, stdout when it was a pipe)."""
        out = self.proc.stdout.read().decode() if self.proc.stdout else ""
        status = self.proc.wait(timeout)
        self.reader.join(10)
        return status, out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def empty_db() -> Iterator[str]:
    """A fresh database without the durable schema, dropped after."""
    name = f"durable_test_py_polish_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(ADMIN_DSN, dbname=name)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(name)))


def test_db_deploy_verify_revert_draw_a_bar_of_the_changes_in_a_terminal(empty_db):
    changes = _plan_changes()
    runs = []
    for command in (["deploy"], ["verify"], ["revert", "--yes"]):
        term = Terminal("--dsn", empty_db, "db", *command)
        try:
            status, out = term.finish()
        finally:
            term.close()
        runs.append((command[0], status, out, term.screen))
    for command, status, out, screen in runs:
        assert status == 0, (command, out, screen)
        # the bar, on the terminal: how many changes, and all of them done
        assert f"{command}: {changes} changes" in screen, (command, screen)
        assert f"{changes}/{changes}" in screen, (command, screen)
        # Sqitch's other lines, on stdout; its line per change replaced by the bar
        mark = {"deploy": "+", "verify": "*", "revert": "-"}[command]
        assert f"  {mark} roles" not in out, out
    assert "Deploying changes to" in runs[0][2]
    assert "Verify successful" in runs[1][2]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select to_regnamespace('durable')").fetchone()[0] is None


def test_db_deploy_of_a_deployed_database_draws_no_bar(dsn):
    term = Terminal("--dsn", dsn, "db", "deploy")
    try:
        status, out = term.finish()
    finally:
        term.close()
    assert status == 0 and "Nothing to deploy" in out, (out, term.screen)
    assert "changes" not in term.screen


def test_enqueue_wait_shows_the_run_progress_in_a_terminal(dsn, queue, start_worker):
    start_worker(queue)
    steps = [{"kind": "plain"}, {"kind": "plain"}, {"kind": "plain"}]
    wid = f"polish-{uuid.uuid4().hex[:8]}"
    term = Terminal("--dsn", dsn, "enqueue", "script", "--input", json.dumps([{"steps": steps}]),
                    "--queue", queue, "--id", wid, "--wait", "60", "--json")
    try:
        status, out = term.finish()
    finally:
        term.close()
    assert status == 0, (out, term.screen)
    assert f"waiting for {wid}" in term.screen
    assert "succeeded, 3 steps" in term.screen  # its last line, once the run finished
    assert json.loads(out)["status"] == "succeeded"  # stdout stays JSON


def test_enqueue_wait_that_runs_out_says_so_once(dsn, queue):
    result = CliRunner().invoke(main, ["--dsn", dsn, "enqueue", "script", "--input", "[]",
                                       "--queue", queue, "--wait", "0.3"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert "still pending after 0.3s: is a worker serving queue" in last, last
    assert "after 0.3s after" not in last  # regression: the time was said twice


def test_bulk_cancel_draws_its_bar_in_a_terminal(dsn, conn, queue):
    for _ in range(5):
        db.enqueue(conn, "a", [], queue=queue)
    term = Terminal("--dsn", dsn, "cancel", "--queue", queue, "--batch", "2", "--yes")
    try:
        status, out = term.finish()
    finally:
        term.close()
    assert status == 0 and "5 workflows cancelled" in out, (out, term.screen)
    assert "cancel: 5 workflows" in term.screen and "100%" in term.screen, term.screen


def _top_setup(conn: psycopg.Connection, queue: str) -> tuple[str, str]:
    """In queue: 3 pending runs, 1 running on a live worker, 1 held by a dead worker."""
    for _ in range(5):
        db.enqueue(conn, "a", [], queue=queue)
    live, dead = f"live-{uuid.uuid4().hex[:6]}", f"dead-{uuid.uuid4().hex[:6]}"
    db.claim(conn, live, [queue], 1, 60)
    db.claim(conn, dead, [queue], 1, 1)
    wait_for(lambda: not db.worker_status(conn, dead)[0]["alive"], what="the worker to expire")
    return live, dead


def test_top_shows_queues_workers_and_dead_workers_holding_work(dsn, conn, queue):
    live, dead = _top_setup(conn, queue)
    result = CliRunner().invoke(main, ["--dsn", dsn, "top", "-n", "2", "-i", "0.1"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    frames = result.output.split("durable top ")[1:]
    assert len(frames) == 2  # two refreshes, one after the other (not a terminal)
    frame = frames[-1]
    row = next(line.split() for line in frame.splitlines() if line.startswith(queue))
    assert row[1:5] == ["no", "3", "2", "0"]  # paused, pending, running, waiting
    assert any(line.startswith(live) and " yes " in line for line in frame.splitlines())
    assert any(line.startswith(dead) and "DEAD, holds work" in line
               for line in frame.splitlines())
    assert "1 dead holding work" in frame


@pytest.mark.parametrize("how", ["q", "ctrl-c"])
def test_top_in_a_terminal_refreshes_and_quits_on_q_or_ctrl_c(dsn, conn, queue, how):
    _top_setup(conn, queue)
    term = Terminal("--dsn", dsn, "top", "--interval", "0.2", full=True)
    try:
        wait_for(lambda: term.screen.count("durable top ") >= 2, timeout=60,
                 what="two refreshes on the terminal")
        assert queue in term.screen
        if how == "q":
            os.write(term.master, b"q")
        else:
            term.proc.send_signal(signal.SIGINT)
        status, _ = term.finish(timeout=120)  # (a loaded CI machine once took over 30 s)
        assert status == 0, term.screen
        assert "Traceback" not in term.screen
        # the terminal is given back in line mode (top read it a key at a time)
        assert termios.tcgetattr(term.slave)[3] & termios.ICANON
    finally:
        term.close()

