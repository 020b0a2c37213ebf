"""How many requests the next ``$batch`` for one table may carry, from how long earlier ones took.

Dataverse runs the requests of a ``$batch`` one after another
(https://learn.microsoft.com/en-us/powerapps/developer/data-platform/webapi/execute-batch-operations-using-web-api),
so a batch takes about (requests times seconds per request). Seconds per request depend on the table
(plug-ins, workflows, indexes) and the environment's load, not on us: at 1,000 requests a batch
and 30 ms a request, no answer ever comes inside a 30-s read timeout, the client abandons every
batch while the server goes on applying it, and the same rows are sent again and again. So the
size is measured, not configured:

- the first batch carries ``START`` requests (at most the connection's batch size);
- each answer gives seconds per request (the estimate rises at once and falls by halves), and the
  next batch is sized to take at most ``BUDGET_SHARE`` of the read timeout, growing at most twofold
  per answer;
- a batch that timed out took at least the read timeout, so a request takes at least
  timeout / requests: the next batch is sized from that at once (a third of it, or less);
- a 5xx answer to the whole batch halves the size.

One ``BatchSizer`` lives in a client, i.e. per connection; it keeps one pace per table.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

START = 100
"""Requests in the first batch for a table, before anything was measured."""
BUDGET_SHARE = 1 / 3
"""The share of the read timeout a batch is sized to take."""
GROWTH = 2
"""The most a batch may grow from one answer to the next."""


@dataclass
class Pace:
    size: int
    seconds_per_request: float | None = None


class BatchSizer:
    """Thread-safe: the push worker's threads share a connection's client."""

    def __init__(self, ceiling: int, read_timeout: float, start: int = START) -> None:
        self.ceiling = max(1, ceiling)
        self.read_timeout = read_timeout
        self.budget = read_timeout * BUDGET_SHARE
        self.start = max(1, min(start, self.ceiling))
        self._paces: dict[str, Pace] = {}
        self._lock = threading.Lock()

    def _pace(self, table: str) -> Pace:
        pace = self._paces.get(table)
        if pace is None:
            pace = self._paces[table] = Pace(self.start)
        return pace

    def _fitting(self, seconds_per_request: float) -> int:
        """Requests that fit the budget at that pace (at least 1, at most the ceiling)."""
        if seconds_per_request <= 0:
            return self.ceiling
        return max(1, min(self.ceiling, math.floor(self.budget / seconds_per_request)))

    def size(self, table: str) -> int:
        with self._lock:
            return self._pace(table).size

    def answered(self, table: str, requests: int, seconds: float) -> None:
        """A batch of ``requests`` was answered after ``seconds``."""
        if requests < 1:
            return
        observed = max(0.0, seconds) / requests
        with self._lock:
            pace = self._pace(table)
            known = pace.seconds_per_request
            estimate = observed if known is None or observed > known else (known + observed) / 2
            pace.seconds_per_request = estimate
            pace.size = min(self._fitting(estimate), pace.size * GROWTH)

    def timed_out(self, table: str, requests: int) -> None:
        """A batch of ``requests`` got no answer within the read timeout."""
        if requests < 1:
            return
        at_least = self.read_timeout / requests
        with self._lock:
            pace = self._pace(table)
            pace.seconds_per_request = max(pace.seconds_per_request or 0.0, at_least)
            pace.size = min(pace.size, self._fitting(pace.seconds_per_request))

    def failed(self, table: str) -> None:
        """The whole batch was answered with a 5xx: the server is struggling, send less."""
        with self._lock:
            pace = self._pace(table)
            pace.size = max(1, pace.size // 2)
