"""One Redis URL, spelled the way each client library wants it."""

from __future__ import annotations

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
