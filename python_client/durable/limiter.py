"""Back-pressure: an adaptive concurrency limit on the latency of the worker's own durable calls.

The algorithm is the gradient controller of Envoy's adaptive concurrency filter
(envoy.filters.http.adaptive_concurrency, "gradient controller"), itself after Netflix's
concurrency-limits library (its Gradient limits):

  - minRTT, the latency of the database when the worker asks little of it, is measured with the
    limit pinned at min_limit, from the first min_rtt_samples calls, then again every
    min_rtt_interval seconds (with up to 15% jitter, as Envoy): it follows the database's
    idle latency as it changes, instead of drifting with the load as a long moving average does;
  - every window seconds, sampleRTT = the percentile (p50 by default) of the calls' latencies in
    the window, and
        gradient  = clamp((minRTT * (1 + buffer)) / sampleRTT, 0.5, 2.0)
        new limit = gradient * limit + sqrt(gradient * limit)    (the headroom)
    clamped to [min_limit, max_limit]: while the calls wait no more than minRTT plus the buffer
    (25%), the limit grows; when they wait longer, because the database is busy (with the
    application's queries, or with this worker's own runs), it shrinks, down to the equilibrium
    at which the database answers at the pace of an unloaded one.

A sample is one call's wait for its answer in seconds (durable.db feeds them: a synchronous
call's round trip, the wait in receive() for the pipelined ones). The limit is the number of
workflows the worker holds at once (its claims ask for no more than the limit less those held);
it never stops a run that is already running. Thread-safe; the clock can be given for tests.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

_GRADIENT_MIN = 0.5
_GRADIENT_MAX = 2.0


class GradientLimit:
    """An adaptive concurrency limit (Envoy's gradient controller; see the module's doc).

    min_limit (default 2) and max_limit bound it (max_limit: the worker's capacity); window:
    seconds between updates (default 0.1, Envoy's concurrency_update_interval); percentile of a
    window's latencies it reads (0.5); buffer: the share of minRTT a call may wait on top of it
    before the limit shrinks (0.25); min_rtt_interval: seconds between two measures of minRTT
    (30; Envoy's default is 60); min_rtt_samples: calls a measure takes (50). ValueError when
    a bound is out of range."""

    def __init__(self, max_limit: int, *, min_limit: int = 2, window: float = 0.1,
                 percentile: float = 0.5, buffer: float = 0.25, min_rtt_interval: float = 30.0,
                 min_rtt_samples: int = 50, clock: Callable[[], float] = time.monotonic):
        if min_limit < 1 or max_limit < min_limit:
            raise ValueError(f"the adaptive limit's bounds must be 1 <= min ({min_limit}) <= max "
                             f"({max_limit})")
        if not 0 < percentile <= 1 or buffer < 0 or window <= 0 or min_rtt_samples < 1:
            raise ValueError("percentile in (0, 1], buffer >= 0, window > 0, min_rtt_samples >= 1")
        self.min_limit = min_limit
        self.max_limit = max_limit
        self.window = window
        self.percentile = percentile
        self.buffer = buffer
        self.min_rtt_interval = min_rtt_interval
        self.min_rtt_samples = min_rtt_samples
        self._clock = clock
        self._lock = threading.Lock()
        self._samples: list[float] = []
        self._limit = float(min_limit)  # pinned while minRTT is measured
        self._measuring = True  # measuring minRTT (limit pinned at min_limit)
        self._resume_at = float(min_limit)  # the limit to go back to after a measure
        self.min_rtt: float | None = None  # seconds
        self.sample_rtt: float | None = None  # seconds, the last window's
        self._window_end = clock() + window
        self._next_measure = math.inf
        self.updates = 0  # windows that changed the limit (for tests and logs)

    @property
    def limit(self) -> int:
        """Workflows the worker may hold at once now."""
        return int(self._limit)

    def observe(self, seconds: float) -> None:
        """One call's latency (seconds)."""
        with self._lock:
            self._samples.append(seconds)
            if self._measuring:
                if len(self._samples) >= self.min_rtt_samples:
                    self.min_rtt = self._aggregate()
                    self._samples.clear()
                    self._measuring = False
                    self._limit = float(max(self.min_limit, min(self.max_limit,
                                                                self._resume_at)))
                    now = self._clock()
                    self._window_end = now + self.window
                    self._next_measure = now + self.min_rtt_interval * (
                        1 + random.uniform(0, 0.15))
                return
            now = self._clock()
            if now < self._window_end:
                return
            self._update(now)

    def _aggregate(self) -> float:
        ordered = sorted(self._samples)
        return ordered[min(len(ordered) - 1, int(self.percentile * len(ordered)))]

    def _update(self, now: float) -> None:
        assert self.min_rtt is not None
        self.sample_rtt = self._aggregate()
        self._samples.clear()
        self._window_end = now + self.window
        if now >= self._next_measure:
            # measure minRTT again, the limit pinned low (Envoy's min_rtt_calc_params)
            self._resume_at = self._limit
            self._limit = float(self.min_limit)
            self._measuring = True
            return
        allowed = self.min_rtt * (1 + self.buffer)
        gradient = (max(_GRADIENT_MIN, min(_GRADIENT_MAX, allowed / self.sample_rtt))
                    if self.sample_rtt > 0 else _GRADIENT_MAX)
        new = gradient * self._limit
        new += math.sqrt(new)
        new = max(float(self.min_limit), min(float(self.max_limit), new))
        if int(new) != int(self._limit):
            self.updates += 1
        self._limit = new
