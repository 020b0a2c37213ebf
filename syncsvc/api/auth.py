"""Authentication, rate limiting and scopes, before any resource runs.

A resource declares the scope each method needs: ``scopes = {"GET": "read", "POST": "write"}``.
Methods it does not list are public (health, metrics, the OpenAPI document).
Order: 401 (no or unknown key) → 429 (the key's rate) → 403 (scope). Connection ownership is
checked by the resource, with the same 404 as for a connection that does not exist.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import falcon
import redis

from syncsvc.api.context import ApiContext
from syncsvc.api.errors import ApiError
from syncsvc.api.keys import authenticate
from syncsvc.api.ratelimit import retry_after_header

log = logging.getLogger("syncsvc.api")

_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,200}$")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="syncsvc"'}
LIMITER_WARNING_INTERVAL = 60.0


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=_CHALLENGE)


def bearer_token(req: falcon.Request) -> str:
    header = req.get_header("Authorization")
    if not header:
        raise _unauthorized("send an API key as 'Authorization: Bearer <key>'")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.match(token):
        raise _unauthorized("the Authorization header must be 'Bearer <key>'")
    return token


class AuthMiddleware:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self._limiter_warned = 0.0

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        if resource is None:
            return
        needed = getattr(resource, "scopes", {}).get(req.method)
        if needed is None:
            return
        token = bearer_token(req)
        with self.ctx.db() as db:
            who = authenticate(db, token)
        if who is None:
            raise _unauthorized("unknown or revoked API key")
        self._rate_limit(who.key_id, who.rate_limit)
        if not who.may(needed):
            raise ApiError(403, f"this operation needs a key with scope '{needed}'")
        req.context.principal = who

    def _rate_limit(self, key_id: int, rate: str | None) -> None:
        try:
            wait = self.ctx.limiter.hit(key_id, rate)
        except redis.RedisError as exc:
            # Redis is a helper, not the source of truth: serve rather than fail (and say so).
            now = time.monotonic()
            if now - self._limiter_warned > LIMITER_WARNING_INTERVAL:
                log.warning("rate limiter unavailable, not limiting: %s", exc)
                self._limiter_warned = now
            return
        if wait is not None:
            raise ApiError(
                429,
                "too many requests for this API key",
                headers={"Retry-After": retry_after_header(wait)},
            )
