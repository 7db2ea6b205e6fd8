"""OpenTelemetry (durable.otel, the extra durable[otel]): the trace context of app.enqueue's
caller is stored with the run, and the worker's spans (one per workflow attempt, one per step
try or wait) continue that trace, with the workflow id and name, step position and name,
attempt, try and outcome. In this process with the SDK's in-memory exporter, and with a real
`durable worker` process that writes its spans to a file. Worker log lines carry the error.
Async def workflows (durable.aio's runner) make the same spans: steps gathered each get their
own step span under the attempt's."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import durable
from durable import otel

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from conftest import wait_for
from durable_otelapp import otel_app

SPANS = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(SPANS))
trace.set_tracer_provider(_provider)
tracer = trace.get_tracer("test_otel")


def traceparent_of(span: trace.Span) -> str:
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"


@pytest.fixture
def queue(conn: psycopg.Connection) -> str:
    name = f"ot-{uuid.uuid4().hex[:8]}"
    conn.execute("select * from durable.set_queue(%s)", [name])
    return name


@pytest.fixture
def worker(dsn: str, queue: str) -> Iterator[str]:
    """A worker of otel_app in this process (its spans go to SPANS); yields the queue."""
    otel_app.dsn = dsn
    w = durable.Worker(otel_app, queues=[queue], concurrency=2, lease_timeout=5,
                       poll_interval=0.2, grace=2)
    thread = threading.Thread(target=w.run, kwargs={"install_signals": False})
    thread.start()
    yield queue
    w.stop(hurry=True)
    thread.join(10)
    otel_app.close()


def spans_of(workflow_id: str) -> list:
    return [s for s in SPANS.get_finished_spans()
            if s.attributes.get("durable.workflow.id") == workflow_id]


def test_enqueue_stores_the_callers_traceparent(dsn: str, queue: str,
                                                conn: psycopg.Connection) -> None:
    otel_app.dsn = dsn
    with tracer.start_as_current_span("request") as request:
        handle = otel_app.enqueue("otel_order", 1, queue=queue)
        [batch] = otel_app.enqueue_many("otel_order", [[2]], queue=queue)
    outside = otel_app.enqueue("otel_order", 3, queue=queue)
    stored = dict(conn.execute("select id, trace_context from durable.runs where id = any(%s)",
                               [[handle.workflow_id, batch.workflow_id,
                                 outside.workflow_id]]).fetchall())
    assert stored == {handle.workflow_id: traceparent_of(request),
                      batch.workflow_id: traceparent_of(request),
                      outside.workflow_id: None}
    otel_app.close()


def test_a_requests_trace_continues_in_the_worker(worker: str) -> None:
    with tracer.start_as_current_span("request") as request:
        handle = otel_app.enqueue("otel_order", 21, queue=worker)
    assert handle.result(timeout=15) == "shipped 42"
    wid = handle.workflow_id
    spans = wait_for(lambda: len(spans_of(wid)) == 3 and spans_of(wid), what="3 spans")
    [attempt] = [s for s in spans if s.name == "workflow otel_order"]
    steps = sorted((s for s in spans if s.name.startswith("step ")),
                   key=lambda s: s.attributes["durable.step.position"])
    req = request.get_span_context()
    assert attempt.context.trace_id == req.trace_id
    assert attempt.parent.span_id == req.span_id
    assert attempt.kind == trace.SpanKind.CONSUMER
    assert dict(attempt.attributes) == {
        "durable.workflow.id": wid, "durable.workflow.name": "otel_order",
        "durable.workflow.attempt": 1, "durable.queue": worker, "durable.outcome": "ok",
        "durable.steps.replayed": 0, "durable.steps.executed": 2}
    assert [(s.name, s.attributes["durable.step.position"], s.attributes["durable.step.name"],
             s.attributes["durable.step.try"], s.attributes["durable.outcome"])
            for s in steps] == [("step charge", 0, "charge", 1, "ok"),
                                ("step ship", 1, "ship", 1, "ok")]
    for s in steps:
        assert s.parent.span_id == attempt.context.span_id
        assert s.attributes["durable.workflow.id"] == wid
        assert s.attributes["durable.workflow.attempt"] == 1


def test_a_run_enqueued_outside_a_span_starts_its_own_trace(worker: str) -> None:
    handle = otel_app.enqueue("otel_order", 1, queue=worker)
    handle.result(timeout=15)
    wid = handle.workflow_id
    spans = wait_for(lambda: len(spans_of(wid)) == 3 and spans_of(wid), what="3 spans")
    [attempt] = [s for s in spans if s.name == "workflow otel_order"]
    assert attempt.parent is None


def test_a_failed_try_is_an_error_span_and_its_retry_ok(worker: str) -> None:
    handle = otel_app.enqueue("otel_flaky", queue=worker)
    assert handle.result(timeout=15) == "ok"
    wid = handle.workflow_id
    spans = wait_for(lambda: len(spans_of(wid)) == 3 and spans_of(wid), what="3 spans")
    tries = sorted((s for s in spans if s.name == "step flaky"),
                   key=lambda s: s.attributes["durable.step.try"])
    assert [(s.attributes["durable.step.try"], s.attributes["durable.outcome"])
            for s in tries] == [(1, "error"), (2, "ok")]
    assert tries[0].status.status_code == trace.StatusCode.ERROR
    assert "the first try of flaky fails" in tries[0].status.description
    assert [e.name for e in tries[0].events] == ["exception"]


def test_a_failed_run_is_an_error_span_and_its_log_line_has_the_error(
        worker: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="durable")
    handle = otel_app.enqueue("otel_boom", 5, queue=worker)
    with pytest.raises(durable.WorkflowFailed):
        handle.result(timeout=15)
    wid = handle.workflow_id
    spans = wait_for(lambda: len(spans_of(wid)) == 2 and spans_of(wid), what="2 spans")
    [attempt] = [s for s in spans if s.name == "workflow otel_boom"]
    assert attempt.attributes["durable.outcome"] == "error"
    assert attempt.status.status_code == trace.StatusCode.ERROR
    assert "the card was declined (code 51)" in attempt.status.description
    [step] = [s for s in spans if s.name == "step charge"]
    assert step.attributes["durable.outcome"] == "ok"
    line = wait_for(lambda: [r.getMessage() for r in caplog.records
                             if wid in r.getMessage() and ": failed" in r.getMessage()],
                    what="the worker's log line")
    assert "failed: durable.execution.NonRetryable: the card was declined (code 51)" in line[0]


def test_a_wait_that_parks_is_a_parked_attempt(worker: str) -> None:
    handle = otel_app.enqueue("otel_nap", queue=worker)
    assert handle.result(timeout=15) == 2
    wid = handle.workflow_id
    # first claim: the sleep parks the run; second: it replays nothing new, sleep returns, charge
    spans = wait_for(lambda: len(spans_of(wid)) == 5 and spans_of(wid), what="5 spans")
    attempts = sorted((s for s in spans if s.name == "workflow otel_nap"),
                      key=lambda s: s.start_time)
    assert [s.attributes["durable.outcome"] for s in attempts] == ["parked", "ok"]
    sleeps = sorted((s for s in spans if s.name == "step durable.sleep"),
                    key=lambda s: s.start_time)
    assert [(s.attributes["durable.step.position"], s.attributes["durable.outcome"])
            for s in sleeps] == [(0, "parked"), (0, "ok")]
    assert sleeps[0].parent.span_id == attempts[0].context.span_id
    [charge] = [s for s in spans if s.name == "step charge"]
    assert charge.attributes["durable.step.position"] == 1
    assert charge.parent.span_id == attempts[1].context.span_id


def test_a_childs_attempt_hangs_under_the_step_that_started_it(worker: str) -> None:
    # the child's trace context is the span that enqueued it (the parent's start_child or
    # start_children step: its producer), not the request that enqueued the parent
    with tracer.start_as_current_span("request") as request:
        handle = otel_app.enqueue("otel_parent", 1, worker, queue=worker)
    assert handle.result(timeout=30) == ["shipped 2", "shipped 4", "shipped 6"]
    wid = handle.workflow_id
    kids = [f"{wid}-0", f"{wid}-1-1", f"{wid}-1-2"]
    for kid in kids:  # each child: its attempt and two steps
        wait_for(lambda kid=kid: len(spans_of(kid)) == 3, what=f"3 spans of {kid}")
    [start_child] = [s for s in spans_of(wid) if s.name == "step durable.start_child"]
    [start_children] = [s for s in spans_of(wid) if s.name == "step durable.start_children"]
    first_attempt = min((s for s in spans_of(wid) if s.name == "workflow otel_parent"),
                        key=lambda s: s.start_time)
    assert first_attempt.parent.span_id == request.get_span_context().span_id
    assert start_child.parent.span_id == first_attempt.context.span_id
    assert start_children.parent.span_id == first_attempt.context.span_id
    for kid, starter in zip(kids, [start_child, start_children, start_children]):
        [attempt] = [s for s in spans_of(kid) if s.name == "workflow otel_order"]
        assert attempt.context.trace_id == request.get_span_context().trace_id
        assert attempt.parent.span_id == starter.context.span_id, kid
        assert attempt.kind == trace.SpanKind.CONSUMER


def test_an_async_workflows_trace_continues_and_its_gathered_steps_are_sibling_spans(
        worker: str) -> None:
    with tracer.start_as_current_span("request") as request:
        handle = otel_app.enqueue("otel_aorder", 10, queue=worker)
    assert handle.result(timeout=15) == "shipped 42"
    wid = handle.workflow_id
    spans = wait_for(lambda: len(spans_of(wid)) == 4 and spans_of(wid), what="4 spans")
    [attempt] = [s for s in spans if s.name == "workflow otel_aorder"]
    req = request.get_span_context()
    assert attempt.context.trace_id == req.trace_id
    assert attempt.parent.span_id == req.span_id
    assert attempt.kind == trace.SpanKind.CONSUMER
    assert dict(attempt.attributes) == {
        "durable.workflow.id": wid, "durable.workflow.name": "otel_aorder",
        "durable.workflow.attempt": 1, "durable.queue": worker, "durable.outcome": "ok",
        "durable.steps.replayed": 0, "durable.steps.executed": 3}
    steps = sorted((s for s in spans if s.name.startswith("step ")),
                   key=lambda s: s.attributes["durable.step.position"])
    # the two gathered steps (each in its own asyncio task): two spans, siblings
    assert [(s.name, s.attributes["durable.step.position"], s.attributes["durable.step.name"],
             s.attributes["durable.step.try"], s.attributes["durable.outcome"])
            for s in steps] == [("step acharge", 0, "acharge", 1, "ok"),
                                ("step acharge", 1, "acharge", 1, "ok"),
                                ("step ship", 2, "ship", 1, "ok")]
    assert len({s.context.span_id for s in steps}) == 3
    for s in steps:
        assert s.parent.span_id == attempt.context.span_id
        assert s.context.trace_id == req.trace_id
        assert s.kind == trace.SpanKind.INTERNAL
        assert s.attributes["durable.workflow.id"] == wid
        assert s.attributes["durable.workflow.attempt"] == 1


def test_an_async_workflows_step_spans_are_current_in_the_steps_code(worker: str) -> None:
    """A transactional step (awaited on its own connection) and a sync step (in the loop's
    thread pool): the spans their code makes are children of their step spans."""
    handle = otel_app.enqueue("otel_abook", 2, queue=worker)
    assert handle.result(timeout=15) == 7
    wid = handle.workflow_id
    spans = wait_for(lambda: len(spans_of(wid)) == 3 and spans_of(wid), what="3 spans")
    [attempt] = [s for s in spans if s.name == "workflow otel_abook"]
    [book] = [s for s in spans if s.name == "step abook"]
    [note] = [s for s in spans if s.name == "step anote"]
    assert [(s.attributes["durable.step.position"], s.attributes["durable.outcome"],
             s.parent.span_id) for s in (book, note)] == [
        (0, "ok", attempt.context.span_id), (1, "ok", attempt.context.span_id)]
    inner = {s.name: s for s in SPANS.get_finished_spans()
             if s.context.trace_id == attempt.context.trace_id and s.name.startswith("inside ")}
    assert inner["inside abook"].parent.span_id == book.context.span_id
    assert inner["inside anote"].parent.span_id == note.context.span_id


def test_an_async_step_that_fails_is_an_error_span_in_an_error_attempt(worker: str) -> None:
    handle = otel_app.enqueue("otel_aboom", 51, queue=worker)
    with pytest.raises(durable.WorkflowFailed):
        handle.result(timeout=15)
    wid = handle.workflow_id
    spans = wait_for(lambda: len(spans_of(wid)) == 3 and spans_of(wid), what="3 spans")
    [attempt] = [s for s in spans if s.name == "workflow otel_aboom"]
    assert attempt.parent is None  # enqueued outside a span: a trace of its own
    assert attempt.attributes["durable.outcome"] == "error"
    assert attempt.status.status_code == trace.StatusCode.ERROR
    assert "the card was declined (code 51)" in attempt.status.description
    [charged] = [s for s in spans if s.name == "step acharge"]
    assert charged.attributes["durable.outcome"] == "ok"
    [declined] = [s for s in spans if s.name == "step adecline"]
    assert (declined.attributes["durable.step.position"], declined.attributes["durable.step.try"],
            declined.attributes["durable.outcome"]) == (1, 1, "error")
    assert declined.status.status_code == trace.StatusCode.ERROR
    assert "ValueError: the card was declined (code 51)" in declined.status.description
    assert [e.name for e in declined.events] == ["exception"]
    assert declined.events[0].attributes["exception.type"] == "ValueError"
    for s in (charged, declined):
        assert s.parent.span_id == attempt.context.span_id


def test_an_async_workflows_children_hang_under_the_steps_that_started_them(
        worker: str) -> None:
    with tracer.start_as_current_span("request") as request:
        handle = otel_app.enqueue("otel_aparent", 1, worker, queue=worker)
    assert handle.result(timeout=30) == ["shipped 6", "shipped 4", "shipped 6"]
    wid = handle.workflow_id
    kids = {f"{wid}-0": ("otel_aorder", 4), f"{wid}-1-1": ("otel_order", 3),
            f"{wid}-1-2": ("otel_order", 3)}
    for kid, (_, count) in kids.items():
        wait_for(lambda kid=kid, count=count: len(spans_of(kid)) == count,
                 what=f"{count} spans of {kid}")
    attempts = wait_for(lambda: len(a := [s for s in spans_of(wid)
                                          if s.name == "workflow otel_aparent"]) == 2 and a,
                        what="the parent's 2 attempts")
    first, second = sorted(attempts, key=lambda s: s.start_time)
    # the first attempt parks in wait_all; the second finds the children done
    assert [first.attributes["durable.outcome"], second.attributes["durable.outcome"]] == \
        ["parked", "ok"]
    for attempt in (first, second):
        assert attempt.parent.span_id == request.get_span_context().span_id
    [start_child] = [s for s in spans_of(wid) if s.name == "step durable.start_child"]
    [start_children] = [s for s in spans_of(wid) if s.name == "step durable.start_children"]
    assert (start_child.attributes["durable.step.position"],
            start_children.attributes["durable.step.position"]) == (0, 1)
    for s in (start_child, start_children):
        assert s.parent.span_id == first.context.span_id
        assert s.attributes["durable.outcome"] == "ok"
    waits = sorted((s for s in spans_of(wid) if s.attributes.get("durable.step.position") == 2),
                   key=lambda s: s.start_time)
    assert [(s.parent.span_id, s.attributes["durable.outcome"]) for s in waits] == [
        (first.context.span_id, "parked"), (second.context.span_id, "ok")]
    for kid, starter in zip(kids, [start_child, start_children, start_children]):
        [attempt] = [s for s in spans_of(kid) if s.name == f"workflow {kids[kid][0]}"]
        assert attempt.context.trace_id == request.get_span_context().trace_id
        assert attempt.parent.span_id == starter.context.span_id, kid
        assert attempt.kind == trace.SpanKind.CONSUMER


def test_a_worker_process_continues_the_trace_and_logs_the_error(
        dsn: str, queue: str, tmp_path: Path) -> None:
    """A real `durable worker` process, its spans written to a file by the SDK's exporter."""
    spans_file = tmp_path / "spans.jsonl"
    log = tmp_path / "worker.log"
    otel_app.dsn = dsn
    with tracer.start_as_current_span("request") as request:
        ok = otel_app.enqueue("otel_order", 4, queue=queue)
        bad = otel_app.enqueue("otel_boom", 4, queue=queue)
        aok = otel_app.enqueue("otel_aorder", 4, queue=queue)  # on the worker's event loop
    env = dict(os.environ, DATABASE_URL=dsn, PYTHONUNBUFFERED="1",
               DURABLE_TEST_SPANS_FILE=str(spans_file))
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "durable", "worker", "durable_otelapp:otel_app", "--path",
             str(HERE), "--queues", queue, "--concurrency", "2", "--poll-interval", "0.2"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=HERE)
    try:
        assert ok.result(timeout=30) == "shipped 8"
        assert aok.result(timeout=30) == "shipped 18"
        with pytest.raises(durable.WorkflowFailed):
            bad.result(timeout=30)

        def spans() -> list[dict]:
            if not spans_file.exists():
                return []
            return [json.loads(line) for line in spans_file.read_text().splitlines() if line]

        got = wait_for(lambda: len(spans()) >= 9 and spans(), what="the worker's spans")
    finally:
        proc.terminate()
        proc.wait(15)
    req = request.get_span_context()
    by_name = {(s["attributes"]["durable.workflow.id"], s["name"]): s for s in got}
    attempt = by_name[(ok.workflow_id, "workflow otel_order")]
    assert attempt["context"]["trace_id"] == f"0x{req.trace_id:032x}"
    assert attempt["parent_id"] == f"0x{req.span_id:016x}"
    assert attempt["attributes"]["durable.outcome"] == "ok"
    for position, name in ((0, "charge"), (1, "ship")):
        step = by_name[(ok.workflow_id, f"step {name}")]
        assert step["parent_id"] == attempt["context"]["span_id"]
        assert step["attributes"]["durable.step.position"] == position
        assert step["attributes"]["durable.outcome"] == "ok"
    aattempt = by_name[(aok.workflow_id, "workflow otel_aorder")]
    assert aattempt["context"]["trace_id"] == f"0x{req.trace_id:032x}"
    assert aattempt["parent_id"] == f"0x{req.span_id:016x}"
    assert aattempt["attributes"]["durable.outcome"] == "ok"
    asteps = sorted((s for s in got if s["attributes"]["durable.workflow.id"] == aok.workflow_id
                     and s["name"].startswith("step ")),
                    key=lambda s: s["attributes"]["durable.step.position"])
    assert [(s["name"], s["attributes"]["durable.step.position"], s["parent_id"])
            for s in asteps] == [("step acharge", 0, aattempt["context"]["span_id"]),
                                 ("step acharge", 1, aattempt["context"]["span_id"]),
                                 ("step ship", 2, aattempt["context"]["span_id"])]
    failed = by_name[(bad.workflow_id, "workflow otel_boom")]
    assert failed["context"]["trace_id"] == f"0x{req.trace_id:032x}"
    assert failed["attributes"]["durable.outcome"] == "error"
    assert failed["status"]["status_code"] == "ERROR"
    text = log.read_text()
    assert (f"WARNING otel_boom {bad.workflow_id}: failed: durable.execution.NonRetryable: the "
            "card was declined (code 51)") in text, text


def test_without_the_extra_nothing_is_imported_and_runs_have_no_trace_context(
        dsn: str, queue: str, conn: psycopg.Connection) -> None:
    """In a process where opentelemetry cannot be imported, durable works and imports none of
    it, and enqueue stores no trace context."""
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'opentelemetry' or name.startswith('opentelemetry.'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import durable, durable.otel, durable.aio\n"
        f"app = durable.Durable({dsn!r})\n"
        f"h = app.enqueue('otel_order', 1, queue={queue!r})\n"
        "assert not durable.otel.enabled()\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "print(h.workflow_id)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    wid = done.stdout.strip()
    assert conn.execute("select trace_context from durable.runs where id = %s",
                        [wid]).fetchone() == (None,)
    assert otel.enabled()  # here, with the extra installed
