"""durable.limiter.GradientLimit: Envoy's adaptive concurrency gradient, on a clock of the test's
own (no sleeping, no timing): the latencies are the test's numbers."""

from __future__ import annotations

import pytest

from durable.limiter import GradientLimit


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _feed(limit: GradientLimit, clock: Clock, latency: float, windows: int) -> list[int]:
    """windows windows of 20 calls each taking latency seconds; the limit after each."""
    seen = []
    for _ in range(windows):
        for _ in range(20):
            limit.observe(latency)
        clock.now += limit.window
        limit.observe(latency)  # the first call after the window's end updates the limit
        seen.append(limit.limit)
    return seen


def test_measures_min_rtt_pinned_low_then_grows_while_latency_stays_near_it():
    """The limit is pinned at its floor while minRTT is measured (the first min_rtt_samples
    calls), then grows window after window up to its ceiling while calls take minRTT."""
    clock = Clock()
    limit = GradientLimit(64, min_limit=2, min_rtt_samples=10, clock=clock)
    assert limit.limit == 2
    for _ in range(10):
        limit.observe(0.001)
    assert limit.min_rtt == 0.001 and limit.limit == 2
    seen = _feed(limit, clock, 0.001, 8)
    assert seen == sorted(seen) and seen[-1] == 64


def test_shrinks_when_calls_wait_longer_than_min_rtt_plus_the_buffer():
    """Calls that take 4x minRTT halve the limit each window (the gradient's floor, 0.5) down
    toward the equilibrium the headroom allows; back to minRTT, it grows again."""
    clock = Clock()
    limit = GradientLimit(64, min_limit=2, min_rtt_samples=10, clock=clock)
    for _ in range(10):
        limit.observe(0.001)
    _feed(limit, clock, 0.001, 8)
    slow = _feed(limit, clock, 0.004, 6)
    assert slow[0] < 64 and slow[-1] <= 8 and slow == sorted(slow, reverse=True)
    assert _feed(limit, clock, 0.001, 8)[-1] == 64


def test_within_the_buffer_the_limit_does_not_fall():
    """Calls 20% slower than minRTT (the buffer is 25%) still let the limit grow."""
    clock = Clock()
    limit = GradientLimit(32, min_limit=2, min_rtt_samples=10, clock=clock)
    for _ in range(10):
        limit.observe(0.010)
    assert _feed(limit, clock, 0.012, 20)[-1] == 32


def test_measures_min_rtt_again_after_its_interval():
    """After min_rtt_interval the limit is pinned at its floor again while minRTT is measured
    anew (it follows the database's idle latency), then resumes where it was."""
    clock = Clock()
    limit = GradientLimit(16, min_limit=3, min_rtt_samples=10, min_rtt_interval=5, clock=clock)
    for _ in range(10):
        limit.observe(0.002)
    _feed(limit, clock, 0.002, 5)
    assert limit.limit == 16
    clock.now += 10
    limit.observe(0.002)
    assert limit.limit == 3
    for _ in range(10):
        limit.observe(0.003)
    assert limit.min_rtt == 0.003 and limit.limit == 16


@pytest.mark.parametrize("kwargs", [{"min_limit": 0}, {"min_limit": 9}, {"percentile": 0},
                                    {"window": 0}, {"buffer": -1}])
def test_refuses_bounds_out_of_range(kwargs):
    """ValueError for a floor under 1 or over the ceiling, and for a meaningless setting."""
    with pytest.raises(ValueError):
        GradientLimit(8, **kwargs)
