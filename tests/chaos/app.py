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

Waiting (the same in both versions; each run parks, so the killed worker holds none of them
while they wait, and the run resumes on whichever worker claims it):
  - sleeper(n): a transactional step, a durable sleep of SLEEP_SECONDS, a plain step.
  - pinger(n) and ponger(n, pinger id), started together: the pinger sends PINGS messages to
    its ponger (durable.send, a step each), the ponger receives each (durable.recv) and
    answers it with the value + 1, the pinger receives the PINGS answers; each returns the sum
    of what it received. A message consumed twice or lost shows in their outputs and in
    durable.messages (consumed_step, one per message).
  - fan_parent(n): starts FAN_CHILDREN fan_child(n, i) children (app.enqueue inside a workflow),
    awaits the first with handle.result() and the others with one durable.wait_all, then a
    transactional step; each child runs a transactional and a plain step.
"""

from __future__ import annotations

import os
import random
import signal
import time

import durable
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

# the waiting workflows
SLEEP_SECONDS = 0.3
PINGS = 3
FAN_CHILDREN = 3
WAITING_LAYOUT = {
    "sleeper": ["effect", "durable.sleep", "record"],
    "pinger": ["durable.send"] * PINGS + ["durable.recv"] * PINGS,
    "ponger": ["durable.recv", "durable.send"] * PINGS,
    "fan_parent": ["durable.start_child"] * FAN_CHILDREN + ["durable.await_children"] * 2
                  + ["effect"],
    "fan_child": ["effect", "record"],
}


def pong_id(n: int) -> str:
    """The id of pinger n's ponger."""
    return f"chaos-{n}-pong"


def expected_waiting_output(name: str, n: int, i: int | None = None) -> int:
    """What a waiting workflow returns when every message, child and step was used once
    (fan_child: i is its position among its parent's children)."""
    if name == "sleeper":
        return (n * 10) + (n * 10 + 2)
    if name == "pinger":
        return sum(n * 10 + k + 1 for k in range(PINGS))
    if name == "ponger":
        return sum(n * 10 + k for k in range(PINGS))
    if name == "fan_child":
        return 2 * (n * 10 + i)
    if name == "fan_parent":
        return (sum(expected_waiting_output("fan_child", n, i) for i in range(FAN_CHILDREN))
                + n * 10 + FAN_CHILDREN + 2)
    raise ValueError(name)

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

    # -- waiting: durable sleep, messages, child workflows (the same in both versions) -----------

    @app.workflow(queue="chaos", max_lost_leases=CHAOS_MAX_LOST_LEASES)
    def sleeper(n: int) -> int:
        first = effect(n, 0)
        durable.sleep(SLEEP_SECONDS)
        return first + record(n, 2)

    @app.workflow(queue="chaos", max_lost_leases=CHAOS_MAX_LOST_LEASES)
    def pinger(n: int) -> int:
        for k in range(PINGS):
            durable.send(pong_id(n), n * 10 + k, topic="ping")
        return sum(durable.recv("pong") for _ in range(PINGS))

    @app.workflow(queue="chaos", max_lost_leases=CHAOS_MAX_LOST_LEASES)
    def ponger(n: int, pinger_id: str) -> int:
        total = 0
        for _ in range(PINGS):
            ping = durable.recv("ping")
            total += ping
            durable.send(pinger_id, ping + 1, topic="pong")
        return total

    @app.workflow(queue="chaos", max_lost_leases=CHAOS_MAX_LOST_LEASES)
    def fan_child(n: int, i: int) -> int:
        return effect(n, i) + record(n, i)

    @app.workflow(queue="chaos", max_lost_leases=CHAOS_MAX_LOST_LEASES)
    def fan_parent(n: int) -> int:
        children = [app.enqueue(fan_child, n, i) for i in range(FAN_CHILDREN)]
        first = children[0].result()  # a durable wait for one child
        rest = durable.wait_all(children[1:])  # one wait for the others
        return first + sum(r.output for r in rest) + effect(n, FAN_CHILDREN + 2)

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
