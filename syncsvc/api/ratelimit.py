"""Request rates in ``limits`` moving windows in Redis, shared by every API process.

Per API key for authenticated requests; per client address for requests that fail
authentication (an IPv6 client counts by its /64: one host usually holds the whole prefix).
"""

from __future__ import annotations

import ipaddress
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
    def __init__(
        self, redis_url: str, prefix: str, default: str, unauthenticated: str = "60/minute"
    ) -> None:
        storage = storage_from_string(
            limits_storage_url(redis_url), key_prefix=f"{prefix}syncsvc-api-limits"
        )
        self._limiter = MovingWindowRateLimiter(storage)
        self._default = parse_rate_limit(default, "SYNCSVC_API_RATE_LIMIT")
        self._unauthenticated = parse_rate_limit(
            unauthenticated, "SYNCSVC_API_UNAUTHENTICATED_RATE_LIMIT"
        )
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
        return self._take(self._item(rate), f"key-{key_id}")

    def hit_unauthenticated(self, address: str) -> float | None:
        """Count one request from ``address`` that failed authentication; like ``hit``."""
        return self._take(self._unauthenticated, f"addr-{client_bucket(address)}")

    def _take(self, item: RateLimitItem, name: str) -> float | None:
        if self._limiter.hit(item, name):
            return None
        stats = self._limiter.get_window_stats(item, name)
        return max(0.0, stats.reset_time - time.time())


def client_bucket(address: str) -> str:
    """The address as counted: IPv4 as is, IPv6 by its /64 (anything else, e.g. a unix socket
    peer, as given)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least one (``Retry-After`` takes no fractions)."""
    return str(max(1, math.ceil(seconds)))
