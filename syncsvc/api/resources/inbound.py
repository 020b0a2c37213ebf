"""``POST /v1/inbound/{connection}``: a CRM's webhook (HubSpot v3 signatures).

No API key: the CRM proves itself with the request's signature, keyed with the connection's
app secret (credential ``webhook_secret``, else ``client_secret``). The body is size-limited and
read once (415/411/413 as for every body), the signature checked over its exact bytes before
anything in it is parsed, the events stored idempotently (a redelivered event is a duplicate,
not a second change); beat's inbound tick hands them to the inbound workers within
``SYNCSVC_INBOUND_TICK_SECONDS``.
Every refusal is the same 401 whatever failed (unknown connection, no inbound, bad signature),
counted per client address like a failed API key (429 past ``UNAUTHENTICATED_RATE_LIMIT``).
"""

from __future__ import annotations

import re
import time
from typing import Any

import falcon
import redis

from providers.hubspot import webhooks
from syncsvc.api.body import parse_json, read_raw
from syncsvc.api.context import ApiContext
from syncsvc.api.errors import ApiError, Problem, bad_request
from syncsvc.api.params import query
from syncsvc.api.ratelimit import retry_after_header
from syncsvc.inbound import events
from syncsvc.inbound.model import InboundSpec
from syncsvc.secrets import decrypt_json

MAX_WEBHOOK_BYTES = 1024 * 1024
REFUSED = "the request is not a valid webhook for this connection"
CONNECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

FIND = """
SELECT id, provider, enabled, credentials_enc, inbound FROM syncsvc.connection WHERE name = %s
"""


class InboundResource:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response, connection: str) -> None:
        query(req, set())
        raw = read_raw(req, MAX_WEBHOOK_BYTES)
        if not CONNECTION_NAME.match(connection):
            raise self._refused(req)
        with self.ctx.db() as db:
            conn = db.execute(FIND, (connection,)).fetchone()
            secret = self._secret(conn)
            headers = {
                name: req.get_header(name)
                for name in (webhooks.SIGNATURE_HEADER, webhooks.TIMESTAMP_HEADER)
            }
            try:
                if secret is None:
                    raise webhooks.BadWebhook("no webhook secret")
                webhooks.verify(secret, req.method, req.uri, raw, headers, int(time.time() * 1000))
            except webhooks.BadWebhook:
                raise self._refused(req) from None
            assert conn is not None
            body = parse_json(raw)
            try:
                parsed = webhooks.parse_events(body)
            except webhooks.BadWebhook as exc:
                raise bad_request([Problem("body", str(exc))]) from None
            spec = InboundSpec.from_json(conn["inbound"])
            reported = [
                events.Reported(e.object, e.crm_id, e.event_key, e.kind, e.occurred_at)
                for e in parsed
                if e.object in spec.objects
            ]
            stored = events.store(db, conn["id"], "webhook", reported)
        resp.status = falcon.HTTP_200
        resp.media = {"received": len(parsed), "stored": stored}

    def _refused(self, req: falcon.Request) -> ApiError:
        """The one 401 for every refusal; refusals count against the client's address like
        failed API keys (past the limit: 429), so a flood of forged requests is slowed down."""
        try:
            wait = self.ctx.limiter.hit_unauthenticated(req.remote_addr or "")
        except redis.RedisError:
            wait = None  # Redis is a helper here: refuse without counting
        if wait is not None:
            return ApiError(
                429,
                "too many refused webhook requests from this address",
                headers={"Retry-After": retry_after_header(wait)},
            )
        return ApiError(401, REFUSED, code="refused")

    def _secret(self, conn: Any) -> str | None:
        """The connection's webhook secret; None for anything that takes no webhooks."""
        if (
            conn is None
            or conn["provider"] != "hubspot"
            or not conn["enabled"]
            or not conn["inbound"]
            or not conn["inbound"].get("webhooks", True)
            or not conn["credentials_enc"]
        ):
            return None
        credentials = decrypt_json(self.ctx.settings, bytes(conn["credentials_enc"]))
        secret = credentials.get("webhook_secret") or credentials.get("client_secret")
        return secret if isinstance(secret, str) and secret else None
