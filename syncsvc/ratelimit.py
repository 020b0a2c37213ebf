"""Per-connection rate limits with ``limits`` (moving window, Redis storage, shared by all workers).

A full window never blocks a worker: ``acquire`` raises ``RateLimited`` with the seconds until a
slot frees, and the caller reschedules the work.

Backfill pushes leave a share of the window to live changes: inside ``yielding_to_live()`` (the
pusher enters it for a chunk of backfill rows) a request is sent only while more than
``live_reserve`` slots of the window are free, so a backfill alone fills the window up to the
reserve and live pushes always find the reserve free. The check and the hit are two Redis calls:
concurrent backfill pushes can dip into the reserve by a few requests, never past the limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from syncsvc.errors import ConfigError, RateLimited
from syncsvc.redisconn import limits_storage_url

_lock = threading.Lock()
_limiters: dict[tuple[str, str], MovingWindowRateLimiter] = {}
_yielding: ContextVar[bool] = ContextVar("syncsvc_yielding_to_live", default=False)


@contextmanager
def yielding_to_live() -> Iterator[None]:
    """Requests made in this block (this thread) leave the live reserve of the window free."""
    token = _yielding.set(True)
    try:
        yield
    finally:
        _yielding.reset(token)


def live_reserve(requests: int, share_percent: int) -> int:
    """Slots of a ``requests`` window kept for live changes: ``share_percent`` of it, at least
    one when the share is not 0, and never the whole window (a backfill must move)."""
    if share_percent <= 0 or requests < 2:
        return 0
    return min(requests - 1, max(1, math.ceil(requests * share_percent / 100)))


def parse_rate_limit(text: str, where: str) -> RateLimitItem:
    """``600/minute``, ``10/second``, ``5000 per hour`` (the ``limits`` notation)."""
    try:
        return parse(text)
    except ValueError:
        raise ConfigError(
            f"{where} must be a rate such as '600/minute' or '10/second', got {text!r}"
        ) from None


def _limiter(redis_url: str, prefix: str) -> MovingWindowRateLimiter:
    key = (redis_url, prefix)
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            storage = storage_from_string(
                limits_storage_url(redis_url), key_prefix=f"{prefix}syncsvc-limits"
            )
            limiter = MovingWindowRateLimiter(storage)
            _limiters[key] = limiter
        return limiter


class ConnectionLimiter:
    """``requests`` per ``seconds`` for one connection, across every process; ``reserve`` of
    them kept for live changes (see ``yielding_to_live``)."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        connection_id: int,
        requests: int,
        seconds: int,
        reserve: int = 0,
    ):
        self._limiter = _limiter(redis_url, prefix)
        self._item = RateLimitItemPerSecond(requests, seconds)
        self._key = f"connection-{connection_id}"
        self.reserve = reserve

    def acquire(self) -> None:
        """Take one request slot or raise ``RateLimited`` (never sleeps)."""
        if self.reserve and _yielding.get():
            stats = self._limiter.get_window_stats(self._item, self._key)
            if stats.remaining <= self.reserve:
                raise RateLimited(
                    f"backfill: the last {self.reserve} requests of {self._item} are kept "
                    "for live changes",
                    retry_after=max(0.05, stats.reset_time - time.time()),
                )
        if self._limiter.hit(self._item, self._key):
            return
        stats = self._limiter.get_window_stats(self._item, self._key)
        wait = max(0.05, stats.reset_time - time.time())
        raise RateLimited(f"own rate limit {self._item} is full", retry_after=wait)

    def remaining(self) -> int:
        return int(self._limiter.get_window_stats(self._item, self._key).remaining)
