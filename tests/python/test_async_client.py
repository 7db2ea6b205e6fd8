"""AsyncDurable, the async client on psycopg's AsyncConnection: each call is the durable.*
function call the sync client makes (compared on the wire: the statements each sends), results
wait on one shared LISTEN connection, and the refusals are the sync client's."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import durable
import durable_asyncapp
from durable import db
from durable.aio import AsyncDurable, AsyncWorkflowHandle
from test_async_worker import AsyncWorkerProcess, aapp, start_async_worker  # noqa: F401


class _Recording(psycopg.Cursor):
    sent: list[str]

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self.connection.sent.append(str(query))  # type: ignore[attr-defined]
        return super().execute(query, params, **kwargs)


class _AsyncRecording(psycopg.AsyncCursor):
    async def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self.connection.sent.append(str(query))  # type: ignore[attr-defined]
        return await super().execute(query, params, **kwargs)


def durable_calls(sent: list[str]) -> list[str]:
    return [s for s in sent if "durable." in s]


@pytest.fixture
def queue_name(conn: psycopg.Connection) -> str:
    name = f"q-{uuid.uuid4().hex[:10]}"
    conn.execute("select * from durable.set_queue(%s)", [name])
    return name


def test_each_async_call_sends_the_sync_clients_statements(
        aapp: durable.Durable, queue_name: str, conn: psycopg.Connection) -> None:  # noqa: F811
    sync_conn = aapp.connection()
    sync_conn.cursor_factory = _Recording  # type: ignore[assignment]
    sync_conn.sent = []  # type: ignore[attr-defined]
    wf = durable_asyncapp.napper

    def sync_side() -> list[list[str]]:
        out = []
        for action in (
            lambda: aapp.enqueue(wf, 1.0, queue=queue_name, workflow_id="s-1"),
            lambda: aapp.enqueue_many(wf, [[1.0], [2.0]], queue=queue_name,
                                      workflow_ids=["s-2", "s-3"]),
            lambda: aapp.send("s-1", {"m": 1}, topic="t", idempotency_key="k"),
            lambda: aapp.cancel("s-1"),
            lambda: aapp.retry("s-1"),
            lambda: aapp.handle("s-2").get(),
        ):
            sync_conn.sent.clear()  # type: ignore[attr-defined]
            action()
            out.append(durable_calls(sync_conn.sent))  # type: ignore[attr-defined]
        return out

    async def async_side() -> list[list[str]]:
        async with AsyncDurable(aapp) as client:
            aconn = await client.connection()
            aconn.cursor_factory = _AsyncRecording  # type: ignore[assignment]
            aconn.sent = []  # type: ignore[attr-defined]
            out = []
            for action in (
                lambda: client.enqueue(wf, 1.0, queue=queue_name, workflow_id="a-1"),
                lambda: client.enqueue_many(wf, [[1.0], [2.0]], queue=queue_name,
                                            workflow_ids=["a-2", "a-3"]),
                lambda: client.send("a-1", {"m": 1}, topic="t", idempotency_key="k"),
                lambda: client.cancel("a-1"),
                lambda: client.retry("a-1"),
                lambda: client.handle("a-2").get(),
            ):
                aconn.sent.clear()  # type: ignore[attr-defined]
                await action()
                out.append(durable_calls(aconn.sent))  # type: ignore[attr-defined]
            return out

    sync_sent = sync_side()
    async_sent = asyncio.run(async_side())
    assert async_sent == sync_sent
    assert [len(calls) for calls in async_sent] == [1, 1, 1, 1, 1, 1]  # one round trip each
    statuses = dict(conn.execute("select id, status from durable.workflows where id in"
                                 " ('a-1', 'a-2', 'a-3', 's-1', 's-2', 's-3')").fetchall())
    assert statuses == {"a-1": "pending", "a-2": "pending", "a-3": "pending",
                        "s-1": "pending", "s-2": "pending", "s-3": "pending"}


def test_enqueue_on_the_callers_connection_follows_its_transaction(
        aapp: durable.Durable, queue_name: str, conn: psycopg.Connection) -> None:  # noqa: F811
    async def scenario() -> tuple[str, str]:
        client = AsyncDurable(aapp)
        async with await psycopg.AsyncConnection.connect(aapp.dsn) as mine:
            async with mine.transaction(force_rollback=True):
                gone = await client.enqueue(durable_asyncapp.napper, 1, queue=queue_name,
                                            conn=mine)
            async with mine.transaction():
                kept = await client.enqueue(durable_asyncapp.napper, 1, queue=queue_name,
                                            conn=mine)
        await client.close()
        return gone.workflow_id, kept.workflow_id

    gone, kept = asyncio.run(scenario())
    found = {r[0] for r in conn.execute("select id from durable.workflows where id in (%s, %s)",
                                        [gone, kept])}
    assert found == {kept}


def test_refusals_are_the_sync_clients(aapp: durable.Durable, queue_name: str) -> None:  # noqa: F811
    async def scenario() -> None:
        async with AsyncDurable(aapp) as client:
            with pytest.raises(durable.UnknownWorkflow):
                await client.send("no-such-workflow", 1)
            with pytest.raises(durable.UnknownWorkflow):
                await client.cancel("no-such-workflow")
            with pytest.raises(durable.NotRegistered):
                await client.enqueue(lambda: None)
            with pytest.raises(durable.InvalidValue):
                await client.enqueue("napper", "\x00", queue=queue_name)
            with pytest.raises(durable.UnknownQueue):
                await client.enqueue("napper", 1, queue="no-such-queue-" + queue_name)
            handle = await client.enqueue("napper", 1, queue=queue_name)
            assert await handle.status() == "pending"
            with pytest.raises(TimeoutError):
                await handle.result(timeout=0.2)
            assert await client.get_event(handle.workflow_id, "never", timeout=0) is None
            assert await handle.cancel() == "cancelled"
            with pytest.raises(durable.WorkflowCancelled):
                await handle.result(timeout=5)
            assert await client.retry(handle.workflow_id) == "pending"

    asyncio.run(scenario())


def test_results_of_many_runs_wait_on_one_listen_connection(
        aapp: durable.Durable, queue_name: str, conn: psycopg.Connection,  # noqa: F811
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:  # noqa: F811
    start_async_worker(queue_name)

    async def scenario() -> tuple[list[Any], int, AsyncWorkflowHandle]:
        async with AsyncDurable(aapp) as client:
            handles = await client.enqueue_many(durable_asyncapp.napper,
                                                [[0.3]] * 20, queue=queue_name)
            waits = asyncio.gather(*(h.result(timeout=60) for h in handles))
            await asyncio.sleep(0.1)
            listeners = conn.execute("select count(*) from pg_stat_activity where "
                                     "application_name = 'durable async listener'").fetchone()[0]
            return await waits, listeners, handles[0]

    outs, listeners, _ = asyncio.run(scenario())
    assert outs == [0.3] * 20
    assert listeners == 1


def test_one_app_registers_workflows_for_both_clients() -> None:
    app = durable.Durable()
    client = AsyncDurable(app)

    @client.workflow(queue="x")
    async def registered_here() -> int:
        return 1

    assert app.workflows["registered_here"].fn is registered_here
    assert client.app is app
    assert AsyncDurable("postgresql://nowhere/db").app.dsn == "postgresql://nowhere/db"


def test_db_calls_through_the_stand_in_raise_what_the_sync_ones_raise(dsn: str) -> None:
    from durable import aio

    async def scenario() -> None:
        aconn = await aio.connect(dsn)
        try:
            with pytest.raises(durable.UnknownWorkflow):
                await aio.call(aconn, db.result, "no-such-workflow")
            assert await aio.call(aconn, db.check_schema) is not None
        finally:
            await aconn.close()

    asyncio.run(scenario())


def test_typed_start_checks_arguments_before_writing_and_returns_the_result(
        aapp: durable.Durable, queue_name: str, conn: psycopg.Connection,  # noqa: F811
        start_async_worker: Callable[..., AsyncWorkerProcess]) -> None:  # noqa: F811
    """AsyncDurable.start and .options(...).start: the arguments checked against the workflow's
    parameters at the call (TypeError, nothing written), one durable.enqueue, and a typed
    handle whose awaited result() is the value the workflow's coroutine returned."""
    start_async_worker(queue_name)

    async def scenario() -> tuple[float, float, str, bool]:
        async with AsyncDurable(aapp) as client:
            with pytest.raises(TypeError, match="napper"):
                await client.start(durable_asyncapp.napper, 1, 2)  # type: ignore[call-arg]
            with pytest.raises(TypeError, match="seconds"):
                await client.start(durable_asyncapp.napper, secs=1)  # type: ignore[call-arg]
            wid = f"typed-{uuid.uuid4().hex[:8]}"
            opts = client.options(workflow_id=wid, queue=queue_name)
            first = await opts.start(durable_asyncapp.napper, 0.01)
            again = await opts.start(durable_asyncapp.napper, 0.01)  # the same id: that run
            other = await client.options(queue=queue_name).start(durable_asyncapp.napper,
                                                                seconds=0.02)
            return (await first.result(timeout=30), await other.result(timeout=30),
                    again.workflow_id, again.created)

    first, other, again_id, again_created = asyncio.run(scenario())
    assert (first, other) == (0.01, 0.02)
    assert again_id.startswith("typed-") and again_created is False
    assert conn.execute("select count(*) from durable.workflows where name = 'napper'"
                        " and queue = %s", [queue_name]).fetchone()[0] == 2
