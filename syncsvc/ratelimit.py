"""Per-connection rate limits with ``limits`` (moving window, Redis storage, shared by all workers).

A full window never blocks a worker: ``acquire`` raises ``RateLimited`` with the seconds until a
slot frees, and the caller reschedules the work.
"""

from __future__ import annotations

import threading
import time

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from syncsvc.errors import ConfigError, RateLimited
from syncsvc.redisconn import limits_storage_url

_lock = threading.Lock()
_limiters: dict[tuple[str, str], MovingWindowRateLimiter] = {}


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
    """``requests`` per ``seconds`` for one connection, across every process."""

    def __init__(
        self, redis_url: str, prefix: str, connection_id: int, requests: int, seconds: int
    ):
        self._limiter = _limiter(redis_url, prefix)
        self._item = RateLimitItemPerSecond(requests, seconds)
        self._key = f"connection-{connection_id}"

    def acquire(self) -> None:
        """Take one request slot or raise ``RateLimited`` (never sleeps)."""
        if self._limiter.hit(self._item, self._key):
            return
        stats = self._limiter.get_window_stats(self._item, self._key)
        wait = max(0.05, stats.reset_time - time.time())
        raise RateLimited(f"own rate limit {self._item} is full", retry_after=wait)

    def remaining(self) -> int:
        return int(self._limiter.get_window_stats(self._item, self._key).remaining)
