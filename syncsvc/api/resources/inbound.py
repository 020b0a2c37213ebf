"""``POST /v1/inbound/{connection}``: a CRM's webhook (HubSpot v3 signatures).

No API key: the CRM proves itself with the request's signature, keyed with the connection's
app secret (credential ``webhook_secret``, else ``client_secret``). The body is size-limited and
read once, the signature checked over its exact bytes, the events stored idempotently (a
redelivered event is a duplicate, not a second change); beat's inbound tick hands them to the
inbound workers within ``SYNCSVC_INBOUND_TICK_SECONDS``.
Every refusal is the same 401 whatever failed (unknown connection, no inbound, bad signature).
"""

from __future__ import annotations

import json
import time
from typing import Any

import falcon

from providers.hubspot import webhooks
from syncsvc.api.body import storable
from syncsvc.api.context import ApiContext
from syncsvc.api.errors import ApiError
from syncsvc.api.params import query
from syncsvc.inbound import events
from syncsvc.inbound.model import InboundSpec
from syncsvc.secrets import decrypt_json

MAX_WEBHOOK_BYTES = 1024 * 1024
REFUSED = "the request is not a valid webhook for this connection"

FIND = """
SELECT id, provider, enabled, credentials_enc, inbound FROM syncsvc.connection WHERE name = %s
"""


class InboundResource:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def on_post(self, req: falcon.Request, resp: falcon.Response, connection: str) -> None:
        query(req, set())
        if len(connection) > 63:
            raise ApiError(401, REFUSED, code="refused")
        raw = self._body(req)
        with self.ctx.db() as db:
            conn = db.execute(FIND, (connection,)).fetchone()
            secret = self._secret(conn)
            try:
                headers = {
                    name: req.get_header(name)
                    for name in (webhooks.SIGNATURE_HEADER, webhooks.TIMESTAMP_HEADER)
                }
                webhooks.verify(secret, req.method, req.uri, raw, headers, int(time.time() * 1000))
                body = json.loads(raw)
            except (webhooks.BadWebhook, ValueError):
                raise ApiError(401, REFUSED, code="refused") from None
            assert conn is not None
            problem = storable(body, "")
            if problem is not None:
                raise ApiError(400, f"{problem.field}: {problem.message}", code="invalid")
            try:
                parsed = webhooks.parse_events(body)
            except webhooks.BadWebhook as exc:
                raise ApiError(400, str(exc), code="invalid") from None
            spec = InboundSpec.from_json(conn["inbound"])
            reported = [
                events.Reported(e.object, e.crm_id, e.event_key, e.kind, e.occurred_at)
                for e in parsed
                if e.object in spec.objects
            ]
            stored = events.store(db, conn["id"], "webhook", reported)
        resp.status = falcon.HTTP_200
        resp.media = {"received": len(parsed), "stored": stored}

    @staticmethod
    def _body(req: falcon.Request) -> bytes:
        length = req.content_length
        if length is None:
            raise ApiError(411, "send a Content-Length header")
        if length > MAX_WEBHOOK_BYTES:
            raise ApiError(413, f"the body is larger than {MAX_WEBHOOK_BYTES} bytes")
        raw: bytes = req.bounded_stream.read(MAX_WEBHOOK_BYTES + 1)
        return raw

    def _secret(self, conn: Any) -> str:
        if (
            conn is None
            or conn["provider"] != "hubspot"
            or not conn["enabled"]
            or not conn["inbound"]
            or not conn["inbound"].get("webhooks", True)
            or not conn["credentials_enc"]
        ):
            raise ApiError(401, REFUSED, code="refused")
        credentials = decrypt_json(self.ctx.settings, bytes(conn["credentials_enc"]))
        secret = credentials.get("webhook_secret") or credentials.get("client_secret")
        if not isinstance(secret, str) or not secret:
            raise ApiError(401, REFUSED, code="refused")
        return secret
