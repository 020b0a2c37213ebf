"""Requests per API key: a ``limits`` moving window in Redis, shared by every API process."""

from __future__ import annotations

import logging
import math
import threading
import time

from limits import RateLimitItem
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from syncsvc.ratelimit import parse_rate_limit
from syncsvc.redisconn import limits_storage_url

log = logging.getLogger("syncsvc.api")


class KeyLimiter:
    def __init__(self, redis_url: str, prefix: str, default: str) -> None:
        storage = storage_from_string(
            limits_storage_url(redis_url), key_prefix=f"{prefix}syncsvc-api-limits"
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._default = parse_rate_limit(default, "SYNCSVC_API_RATE_LIMIT")
        self._items: dict[str, RateLimitItem] = {}
        self._lock = threading.Lock()

    def _item(self, rate: str | None) -> RateLimitItem:
        if rate is None:
            return self._default
        with self._lock:
            item = self._items.get(rate)
            if item is None:
                item = parse_rate_limit(rate, "api_key.rate_limit")
                self._items[rate] = item
            return item

    def hit(self, key_id: int, rate: str | None) -> float | None:
        """Take one request; ``None`` when allowed, else the seconds until a slot frees."""
        item = self._item(rate)
        name = f"key-{key_id}"
        if self._limiter.hit(item, name):
            return None
        stats = self._limiter.get_window_stats(item, name)
        return max(0.0, stats.reset_time - time.time())


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least one (``Retry-After`` takes no fractions)."""
    return str(max(1, math.ceil(seconds)))
