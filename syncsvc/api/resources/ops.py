"""Operations that need no key.

On the tenant listener: ``/healthz`` (liveness: the process answers; it reads nothing and tells
nothing) and ``/openapi.json``. On the ops listener (``manage.py api --ops-bind``, loopback by
default), for operators only: ``/healthz`` with the PostgreSQL and Redis checks, and ``/metrics``
(every connection's name, provider, mode and backlog).
"""

from __future__ import annotations

import falcon
import psycopg
import psycopg_pool
import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from syncsvc.api.context import ApiContext
from syncsvc.api.metrics import BacklogCollector
from syncsvc.redisconn import client as redis_client


class LivenessResource:
    def __init__(self, ctx: ApiContext) -> None:
        pass

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class HealthResource:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self._redis = redis_client(ctx.settings.broker_url)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        checks = {"postgres": self._postgres(), "redis": self._redis_ok()}
        healthy = all(v == "ok" for v in checks.values())
        resp.status = falcon.HTTP_200 if healthy else falcon.HTTP_503
        resp.media = {"status": "ok" if healthy else "unavailable", "checks": checks}

    def _postgres(self) -> str:
        try:
            with self.ctx.db() as db:
                db.execute("SELECT 1")
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            return f"error: {type(exc).__name__}"
        return "ok"

    def _redis_ok(self) -> str:
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            return f"error: {type(exc).__name__}"
        return "ok"


class MetricsResource:
    def __init__(self, ctx: ApiContext) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(BacklogCollector(ctx))

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = generate_latest(self.registry)
        resp.content_type = CONTENT_TYPE_LATEST


class OpenApiResource:
    def __init__(self, ctx: ApiContext) -> None:
        self.document = ctx.api.openapi_path.read_bytes()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.data = self.document
        resp.content_type = falcon.MEDIA_JSON
