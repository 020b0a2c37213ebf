"""Authentication, rate limiting and scopes, before any resource runs.

A resource declares the operation each method is: ``scopes = {"POST": "ingest"}`` (``read``,
``ack`` or ``ingest``; which key scopes grant which is in ``syncsvc.api.keys``). Methods it does
not list are public (the liveness check, the OpenAPI document).
Order: 401 (no or unknown key; 429 instead once its client address has failed too often) →
429 (the key's rate) → 403 (scope). Connection ownership is checked by the resource, with the
same 404 as for a connection that does not exist.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import falcon
import redis

from syncsvc.api.context import ApiContext
from syncsvc.api.errors import ApiError
from syncsvc.api.keys import GRANTS, authenticate
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
        try:
            token = bearer_token(req)
            with self.ctx.db() as db:
                who = authenticate(db, token)
            if who is None:
                raise _unauthorized("unknown or revoked API key")
        except ApiError:
            # Failed authentications count against the client's address: a flood of bad keys
            # is slowed down without touching the keys that work from the same address.
            address = req.remote_addr or ""
            self._limit(
                lambda: self.ctx.limiter.hit_unauthenticated(address),
                "too many requests with a missing or unknown API key from this address",
            )
            raise
        self._limit(
            lambda: self.ctx.limiter.hit(who.key_id, who.rate_limit),
            "too many requests for this API key",
        )
        if not who.may(needed):
            raise ApiError(403, f"this operation needs a key with scope {_granting(needed)}")
        req.context.principal = who

    def _limit(self, take: Callable[[], float | None], message: str) -> None:
        try:
            wait = take()
        except redis.RedisError as exc:
            # Redis is a helper, not the source of truth: serve rather than fail (and say so).
            now = time.monotonic()
            if now - self._limiter_warned > LIMITER_WARNING_INTERVAL:
                log.warning("rate limiter unavailable, not limiting: %s", exc)
                self._limiter_warned = now
            return
        if wait is not None:
            raise ApiError(429, message, headers={"Retry-After": retry_after_header(wait)})


def _granting(operation: str) -> str:
    """``'ack' or 'write'``: the scopes that grant ``operation``, narrowest first."""
    names = sorted(
        (s for s, ops in GRANTS.items() if operation in ops), key=lambda s: len(GRANTS[s])
    )
    return " or ".join(f"'{s}'" for s in names)
