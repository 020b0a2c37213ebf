"""Telling a 429 of the exhausted daily token budget from a burst 429 when Pipedrive does not
say which.

Pipedrive answers both with 429 (https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting):
the burst limit, a rolling 2-second window per token, clears within seconds; the daily token
budget stays exhausted until midnight server time. The docs name no body text for either, the
only documented daily header (``x-daily-requests-left``) is sent for API-token POST/PUT only,
and the ``x-daily-ratelimit-token-*`` headers are undocumented and can be missing. What is left
is time: a burst 429 clears once its window has passed, so a 429 that comes again after the
wait it asked for was kept, with no other answer between, is counted as a strike; from the
``suspect_after``-th strike on the 429s are taken for the daily budget and the wait doubles each
time (4, 8, 16 s … up to ``cap``), so an exhausted budget costs a few requests an hour instead
of one every 2 s. The first answer that is not a 429 ends the streak.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SUSPECT_AFTER = 3
"""Strikes (429s after a kept wait, nothing else between) before a 429 is taken for the budget."""
INFERRED_DAILY_CAP = 900.0
"""The longest wait for a budget we only infer: the reset time is unknown, look every 15 min."""
EARLY = 0.05
"""A retry this much before its wait ended still kept it (timers and clocks are not exact)."""


class BudgetWatch:
    """The 429 streak of one client (thread-safe: the push threads of a process share it)."""

    def __init__(
        self,
        suspect_after: int = SUSPECT_AFTER,
        cap: float = INFERRED_DAILY_CAP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.suspect_after = max(1, suspect_after)
        self.cap = cap
        self._clock = clock
        self._lock = threading.Lock()
        self._strikes = 0
        self._due: float | None = None
        """When the wait we last asked for ends (None: no 429 since the last other answer)."""
        self._since: float | None = None

    def answered(self) -> None:
        """An answer that is not a 429: whatever the limit was, it has cleared."""
        with self._lock:
            self._strikes, self._due, self._since = 0, None, None

    def throttled(self, wait: float) -> tuple[float, bool]:
        """A 429 that did not say which limit it is, ``wait`` seconds from its headers (or the
        burst window): the wait to ask for, and whether it is now taken for the daily budget."""
        with self._lock:
            now = self._clock()
            if self._due is None or now >= self._due - EARLY:  # the last wait was kept
                self._strikes += 1
                self._since = now if self._since is None else self._since
            elif self._strikes >= self.suspect_after:
                return max(wait, self._due - now), True  # a call sent before our last answer
            beyond = self._strikes - self.suspect_after
            if beyond >= 0:
                wait = min(self.cap, wait * 2 ** (beyond + 1))
            self._due = max(self._due or now, now + wait)
            return self._due - now, self._strikes >= self.suspect_after

    def refused_for(self) -> float:
        """Seconds since the first 429 of the current streak (0 without one)."""
        with self._lock:
            return 0.0 if self._since is None else self._clock() - self._since
