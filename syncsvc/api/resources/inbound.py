"""``POST /v1/inbound/{connection}``: a CRM's webhook, checked and read by the connection's
provider (``Provider.webhooks``: HubSpot v3 signatures, Pipedrive basic auth, Zoho's channel
token).

No API key: the CRM proves itself the way it does (a signature keyed with the app secret, the
basic-auth user and password or the token it was given). The body is size-limited and read
once (415/411/413 as for every body), checked by the provider's receiver before anything in it
is trusted, the events stored idempotently (a redelivered event is a duplicate,
not a second change); beat's inbound tick hands them to the inbound workers within
``SYNCSVC_INBOUND_TICK_SECONDS``.
Every refusal is the same 401 whatever failed (unknown connection, no inbound, bad signature),
counted per client address like a failed API key (429 past ``UNAUTHENTICATED_RATE_LIMIT``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import falcon
import redis

from providers.registry import get_provider
from providers.webhooks import BadWebhook, WebhookReceiver, WebhookRequest
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
            receiver = self._receiver(conn)
            if receiver is None or conn is None:
                raise self._refused(req)
            credentials = decrypt_json(self.ctx.settings, bytes(conn["credentials_enc"]))
            headers = {name: req.get_header(name) for name in receiver.HEADERS}
            request = WebhookRequest(
                req.method, req.uri, raw, headers, credentials, datetime.now(UTC)
            )
            try:
                receiver.verify(request)
            except BadWebhook:
                raise self._refused(req) from None
            body = parse_json(raw)
            try:
                parsed = receiver.parse(body)
            except BadWebhook as exc:
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

    @staticmethod
    def _receiver(conn: Any) -> WebhookReceiver | None:
        """The connection's webhook receiver; None for anything that takes no webhooks."""
        if (
            conn is None
            or not conn["enabled"]
            or not conn["inbound"]
            or not conn["inbound"].get("webhooks", True)
            or not conn["credentials_enc"]
        ):
            return None
        return get_provider(conn["provider"]).webhooks
