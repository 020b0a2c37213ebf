"""The provider clients of one worker process: one per connection and config generation."""

from __future__ import annotations

import threading

import requests

from providers.base import HttpTimeouts, ProviderClient
from syncsvc.config.runtime import RuntimeConnection
from syncsvc.ratelimit import ConnectionLimiter, live_reserve
from syncsvc.settings import Settings


class PushClients:
    """A client (its HTTP pool, token cache and rate limiter) is kept across pushes and replaced,
    the old one closed, when ``config apply`` moves the generation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[tuple[int, int], ProviderClient] = {}

    def get(self, settings: Settings, conn: RuntimeConnection, generation: int) -> ProviderClient:
        key = (conn.id, generation)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                for old in [k for k in self._clients if k[0] == conn.id]:
                    self._clients.pop(old).close()
                client = _build(settings, conn)
                self._clients[key] = client
            return client


def _build(settings: Settings, conn: RuntimeConnection) -> ProviderClient:
    limiter = ConnectionLimiter(
        settings.broker_url,
        settings.redis_prefix,
        conn.id,
        conn.rate_limit_requests,
        conn.rate_limit_seconds,
        reserve=live_reserve(conn.rate_limit_requests, settings.backfill_live_share),
    )
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return conn.provider.client_class(
        conn.connection_info(settings),
        session=session,
        timeouts=HttpTimeouts(settings.http_connect_timeout, settings.http_read_timeout),
        throttle=limiter.acquire,
    )
