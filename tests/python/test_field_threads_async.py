"""Issue 9, item 10: a step never runs without its checkpoint.

A step called from another thread than its workflow's (a thread pool mapping a step) is refused
with a clear error, and so is an async generator workflow or step, at decoration.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

import durable
from conftest import recorded_steps, status_of, wait_for

th_app = durable.Durable()
CALLS: list[str] = []


@th_app.step()
def counted(n: int) -> int:
    """Counts its executions."""
    CALLS.append(durable.step_info().workflow_id if n >= 0 else "?")
    return 2 * n


@th_app.step()
def helper(n: int) -> int:
    """A step also used as a plain function by another step."""
    return n + 1


@th_app.step()
def fans_out(n: int) -> list:
    """A step that calls a step from its own threads: plain calls, as inside any step."""
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(helper, range(n)))


@th_app.workflow(name="copies_context")
def copies_context(n: int) -> int:
    """Calls a step in a thread with a copy of its context (as asyncio.to_thread does)."""
    result: list = []
    ctx = contextvars.copy_context()
    thread = threading.Thread(target=lambda: result.append(ctx.run(_try_counted, n)))
    thread.start()
    thread.join()
    return result[0]


def _try_counted(n: int) -> object:
    try:
        return counted(n)
    except durable.WrongThread as exc:
        return f"refused: {exc}"


@th_app.workflow(name="steps_in_a_step")
def steps_in_a_step(n: int) -> list:
    """A step that uses a thread pool inside itself is fine."""
    return fans_out(n)


def _finished(conn: psycopg.Connection, workflow_id: str) -> str | None:
    status = status_of(conn, workflow_id)
    return status if status in ("succeeded", "failed", "cancelled") else None


@pytest.fixture
def running(dsn: str, conn: psycopg.Connection) -> Iterator[str]:
    queue = f"th-{uuid.uuid4().hex[:8]}"
    conn.execute("select * from durable.set_queue(%s)", [queue])
    th_app.dsn = dsn
    worker = durable.Worker(th_app, queues=[queue], concurrency=2, lease_timeout=5,
                            poll_interval=0.2, grace=2)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    yield queue
    worker.stop(hurry=True)
    thread.join(10)
    th_app.close()


def test_steps_mapped_over_a_thread_pool_are_refused_and_fail_the_run(
        app, conn, queue, start_worker):
    """The reported case, in a real worker process: the run fails with WrongThread and no
    step ran without its checkpoint (it used to succeed with 0 steps recorded)."""
    handle = app.enqueue("field_threads", 3, queue=queue)
    start_worker(queue)
    wait_for(lambda: _finished(conn, handle.workflow_id), what="the run to finish")
    status, error = conn.execute("select status, error from durable.runs where id = %s",
                                 [handle.workflow_id]).fetchone()
    assert status == "failed"
    assert error["type"] == "durable.errors.WrongThread", error
    assert "field_double" in error["message"] and "thread" in error["message"]
    assert recorded_steps(conn, handle.workflow_id) == []


def test_a_step_called_with_a_copied_context_from_another_thread_is_refused(running, conn):
    """contextvars.copy_context().run in a thread (what asyncio.to_thread does): refused too,
    the step's code does not run, and the run fails even though the code caught the error."""
    CALLS.clear()
    handle = th_app.enqueue(copies_context, 4, queue=running)
    with pytest.raises(durable.WorkflowFailed, match="thread"):
        handle.result(timeout=15)
    assert CALLS == []
    assert recorded_steps(conn, handle.workflow_id) == []


def test_a_step_may_use_threads_inside_itself(running, conn):
    """Inside a step, steps are plain calls, from any thread: not refused."""
    handle = th_app.enqueue(steps_in_a_step, 3, queue=running)
    assert handle.result(timeout=15) == [1, 2, 3]
    assert [s["name"] for s in recorded_steps(conn, handle.workflow_id)] == ["fans_out"]


@pytest.mark.parametrize("decorator", ["workflow", "step", "transaction"])
def test_async_generators_are_refused_at_decoration(decorator):
    """async generators (their value is never JSON) fail when decorated, not when run; async
    def workflows, steps and transactional steps are accepted (issue 12: durable.aio runs
    them; an async def transactional step gets an AsyncConnection)."""
    app = durable.Durable()

    async def coroutine_fn() -> int:
        await asyncio.sleep(0)
        return 1

    async def async_gen():
        yield 1

    with pytest.raises(TypeError, match="async generator"):
        getattr(app, decorator)()(async_gen)
    getattr(app, decorator)()(coroutine_fn)
    kind = "steps" if decorator == "transaction" else f"{decorator}s"
    assert list(getattr(app, kind)) == ["coroutine_fn"]
    if decorator == "transaction":
        assert app.steps["coroutine_fn"].transactional


def test_generator_functions_are_refused_at_decoration():
    """A generator's value is never JSON: refused when decorated too."""
    app = durable.Durable()

    def gen():
        yield 1

    with pytest.raises(TypeError, match="generator"):
        app.workflow()(gen)
    with pytest.raises(TypeError, match="generator"):
        app.step()(gen)
