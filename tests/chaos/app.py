"""The workflows the chaos and failover runs execute, in two versions of the same code: `app`
(version "v1", the one the failover run uses) and `app_v2` (version "v2"). Workers of both run
at once in the chaos run, as during a rolling deploy.

  - chaos_flow(n): STEPS steps, alternately transactional (a side-effect row written in the
    checkpoint's transaction: must exist exactly once) and plain (a line appended to this
    process's execution log: at least once, and at most once more per interruption); the same
    in both versions. Steps sleep a little so that kills land in the middle of them.
  - versioned_flow(n): the workflow whose code changed: v2 inserts a step (v2_audit) at
    position 1. Each of its steps returns [version, value] and the workflow returns
    [version, total], so the recorded steps and the output say which code ran them: a run
    started by v1 workers must be finished by v1 workers, one started by v2 by v2.
  - crash_loop(n): one recorded step, then a step that SIGKILLs its own worker process every
    time it runs (a segfault, an OOM kill); it must end failed with WorkerLost after
    CRASH_MAX_LOST_LEASES lost workers, and never run its crash step more often than that.
"""

from __future__ import annotations

import os
import random
import signal
import time

from durable import Durable
from durable.execution import step_info

STEPS = 6
VERSIONS = ("v1", "v2")
# The random kills are not a crash loop: a chaos_flow or versioned_flow run may lose its worker
# a few times in a row, which with the default bound (3) would fail it as one.
CHAOS_MAX_LOST_LEASES = 100
# crash_loop's bound, declared on its decorator: workers register it, enqueue takes it
CRASH_MAX_LOST_LEASES = 2
# the steps versioned_flow records, in order, in each version
VERSIONED_LAYOUT = {
    "v1": ["v_effect", "v_record", "v_effect", "v_record"],
    "v2": ["v_effect", "v2_audit", "v_record", "v_effect", "v_record"],
}
CHAOS_LAYOUT = ["effect" if i % 2 == 0 else "record" for i in range(STEPS)]
# steps whose side-effect row commits with their checkpoint, and steps that log an execution
TRANSACTIONAL_STEPS = {"effect", "v_effect", "v2_audit"}
PLAIN_STEPS = {"record", "v_record"}

_log_fds: dict[str, int] = {}


def expected_output(n: int) -> int:
    """What chaos_flow(n) returns when every step's output was used exactly once."""
    return sum(n * 10 + i for i in range(STEPS))


def expected_versioned_output(n: int, version: str) -> list:
    """What versioned_flow(n) returns when run start to end by code of version."""
    total = sum(n * 10 + i for i in range(4))
    return [version, total + (n * 10 + 9 if version == "v2" else 0)]


def _pause() -> None:
    time.sleep(random.uniform(0.0, float(os.environ.get("CHAOS_STEP_SLEEP", "0.01"))))


def _log(kind: str, line: str) -> None:
    """Append a line to this process's log of kind ("exec", "crash") in CHAOS_LOG_DIR."""
    fd = _log_fds.get(kind)
    if fd is None:
        path = os.path.join(os.environ["CHAOS_LOG_DIR"], f"{kind}-{os.getpid()}.log")
        fd = _log_fds[kind] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, line.encode())  # one O_APPEND write per line: whole lines only


def _side_effect(conn) -> None:
    info = step_info()
    conn.execute("insert into chaos.side_effects (workflow_id, step_id) values (%s, %s)",
                 (info.workflow_id, info.step_id))


def _build(version: str) -> Durable:
    """The app of one version of the code."""
    app = Durable(os.environ.get("DATABASE_URL"), version=version)

    @app.transaction()
    def effect(conn, n: int, i: int) -> int:
        """Transactional step: its row commits with its checkpoint, or not at all."""
        _side_effect(conn)
        _pause()
        return n * 10 + i

    @app.step()
    def record(n: int, i: int) -> int:
        """Plain step: appends to the execution log, then the worker checkpoints it."""
        info = step_info()
        _log("exec", f"{info.workflow_id} {info.step_id}\n")
        _pause()
        return n * 10 + i

    @app.workflow(queue="chaos", max_lost_leases=CHAOS_MAX_LOST_LEASES)
    def chaos_flow(n: int) -> int:
        total = 0
        for i in range(STEPS):
            total += effect(n, i) if i % 2 == 0 else record(n, i)
        return total

    # -- versioned_flow: the code that changes between v1 and v2 --------------------------------

    @app.transaction()
    def v_effect(conn, n: int, i: int) -> list:
        _side_effect(conn)
        _pause()
        return [version, n * 10 + i]

    @app.step()
    def v_record(n: int, i: int) -> list:
        info = step_info()
        _log("exec", f"{info.workflow_id} {info.step_id} {version}\n")
        _pause()
        return [version, n * 10 + i]

    if version == "v1":
        @app.workflow(queue="chaos", max_lost_leases=CHAOS_MAX_LOST_LEASES)
        def versioned_flow(n: int) -> list:
            outputs = [v_effect(n, 0), v_record(n, 1), v_effect(n, 2), v_record(n, 3)]
            return [version, sum(value for _, value in outputs)]
    else:
        @app.transaction()
        def v2_audit(conn, n: int) -> list:
            """The step v2 inserts at position 1."""
            _side_effect(conn)
            _pause()
            return [version, n * 10 + 9]

        @app.workflow(queue="chaos", max_lost_leases=CHAOS_MAX_LOST_LEASES)
        def versioned_flow(n: int) -> list:
            outputs = [v_effect(n, 0), v2_audit(n), v_record(n, 1), v_effect(n, 2),
                       v_record(n, 3)]
            return [version, sum(value for _, value in outputs)]

    # -- crash_loop: a step that kills its worker every time ------------------------------------

    @app.step()
    def crash() -> None:
        info = step_info()
        _log("crash", f"{info.workflow_id} {info.step_id} {version} {os.getpid()}\n")
        os.kill(os.getpid(), signal.SIGKILL)

    @app.workflow(queue="chaos", max_lost_leases=CRASH_MAX_LOST_LEASES)
    def crash_loop(n: int) -> None:
        effect(n, 0)  # recorded once, replayed after every reclaim
        crash()

    return app


app = _build("v1")
app_v2 = _build("v2")
