"""One Redis URL, spelled the way each client library wants it; one shared client per URL."""

from __future__ import annotations

import threading
from typing import cast
from urllib.parse import urlparse

import redis


def celery_broker_url(url: str) -> str:
    """Celery (kombu) names a unix socket ``redis+socket://``."""
    if url.startswith("unix://"):
        parsed = urlparse(url)
        query = f"?virtual_host={parsed.query.split('db=')[1]}" if "db=" in parsed.query else ""
        return f"redis+socket://{parsed.path}{query}"
    return url


def limits_storage_url(url: str) -> str:
    """The ``limits`` package names a unix socket ``redis+unix://``."""
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://") :]
    return url


def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)


_shared_lock = threading.Lock()
_shared: dict[str, redis.Redis] = {}


def shared_client(url: str) -> redis.Redis:
    """One client (and so one connection pool) per URL for this process."""
    with _shared_lock:
        if url not in _shared:
            _shared[url] = client(url)
        return _shared[url]


def eviction_warning(url: str) -> str | None:
    """A warning when Redis may evict keys: a broker that evicts loses messages silently."""
    try:
        answer = cast(dict[str, str], client(url).config_get("maxmemory-policy"))
        policy = answer.get("maxmemory-policy")
    except redis.RedisError as exc:  # managed Redis often forbids CONFIG
        return f"cannot read Redis maxmemory-policy ({exc}); it must be noeviction"
    if policy != "noeviction":
        return (
            f"Redis maxmemory-policy is {policy!r}: set it to 'noeviction' or messages may be lost"
        )
    return None
