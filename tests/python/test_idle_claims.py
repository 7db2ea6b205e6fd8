"""Idle workers answer a notification with one claim per process, not a storm (issue 15).

Two real `durable worker` processes sit idle (their poll far off, so only notifications make
them claim); one enqueue wakes both. Each process's listener claims once; before the fix it
also woke its main thread, which claimed again and found nothing: 4 claims per enqueue for 2
processes. The claims are counted from the workers' own debug lines (one per durable.claim
call, written after the call returns), not timed."""

from __future__ import annotations

import re
import time

from conftest import wait_for


def _claims(text: str) -> list[str]:
    return re.findall(r"claim by (\S+): asked for \d+, got \d+", text)


def test_one_enqueue_costs_at_most_one_claim_per_idle_process(app, conn, queue, start_worker):
    workers = [start_worker(queue, extra=("--poll-interval", "600", "--log-level", "DEBUG"))
               for _ in range(2)]
    # settled: each listener is listening, and its wake-up on connect has been claimed for
    for w in workers:
        wait_for(lambda w=w: len(_claims(w.log())) >= 1, what="the worker's first claim")
    time.sleep(1.0)  # let the start-up claims end: they are not the ones counted
    marks = [len(_claims(w.log())) for w in workers]

    handle = app.enqueue("script", {"steps": [{"kind": "plain"}]}, queue=queue)
    handle.result(timeout=15)
    # every process has answered the notification (the one that lost the race finds nothing)
    for w, mark in zip(workers, marks):
        wait_for(lambda w=w, mark=mark: len(_claims(w.log())) > mark,
                 what="each process to answer the notification")
    time.sleep(0.5)  # a second claim would follow the first at once; give it the chance

    per_process = [_claims(w.log())[mark:] for w, mark in zip(workers, marks)]
    assert [len(c) for c in per_process] == [1, 1], per_process
    assert all(c == ["durable-listener"] for c in per_process), per_process
