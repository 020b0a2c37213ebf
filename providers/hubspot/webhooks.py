"""HubSpot webhooks (v3 signatures): how a request is signed, and what its events say.

HubSpot signs every webhook request with ``X-HubSpot-Signature-v3``: the base64 HMAC-SHA256,
keyed with the app's client secret, of ``method + uri + body + timestamp``, where ``timestamp``
is the ``X-HubSpot-Request-Timestamp`` header (milliseconds since the epoch) and ``uri`` the full
URL the request was sent to, with some URL-encoded characters decoded. A request whose timestamp
is more than five minutes old is refused (a replay). The simulator signs with ``sign``; the API
checks with ``verify``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from providers.webhooks import BadWebhook, WebhookEvent, WebhookReceiver, WebhookRequest

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000
MAX_EVENTS = 1000
"""HubSpot sends at most 100 events per request; anything far beyond is not HubSpot."""

# HubSpot decodes these before signing (its v3 validation guide lists them).
_DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
    "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip
_OBJECTS = {"contact": "contacts", "company": "companies", "deal": "deals"}
OBJECT_PREFIX = {plural: singular for singular, plural in _OBJECTS.items()}


def signed_uri(uri: str) -> str:
    for encoded, plain in _DECODED.items():
        uri = uri.replace(encoded, plain).replace(encoded.lower(), plain)
    return uri


def sign(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int) -> str:
    message = method.upper().encode() + signed_uri(uri).encode() + body + str(timestamp_ms).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str | None],
    now_ms: int,
) -> None:
    """Raise ``BadWebhook`` unless the request carries a valid, fresh v3 signature."""
    signature = headers.get(SIGNATURE_HEADER)
    stamp = headers.get(TIMESTAMP_HEADER)
    if not signature or not stamp:
        raise BadWebhook(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    if not stamp.isdigit() or len(stamp) > 16:
        raise BadWebhook(f"{TIMESTAMP_HEADER} is not a time in milliseconds")
    if abs(now_ms - int(stamp)) > MAX_AGE_MS:
        raise BadWebhook(f"{TIMESTAMP_HEADER} is more than five minutes away from now")
    expected = sign(secret, method, uri, body, int(stamp))
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise BadWebhook("the signature does not match")


def parse_events(body: Any) -> list[WebhookEvent]:
    """The events of a webhook body (a JSON array); events of other objects or kinds are left
    out, a malformed one refuses the whole request."""
    if not isinstance(body, list):
        raise BadWebhook("the body must be a JSON array of events")
    if len(body) > MAX_EVENTS:
        raise BadWebhook(f"more than {MAX_EVENTS} events")
    return [e for e in (_event(item, i) for i, item in enumerate(body)) if e is not None]


def _event(item: Any, index: int) -> WebhookEvent | None:
    """One event as a change (or deletion) of one record. An ``associationChange`` (an
    association of ``fromObjectId`` to ``toObjectId`` made or removed; HubSpot sends one from
    each side, and no ``objectId``) is a change of its ``fromObjectId``: a child whose parent
    changed is read again with its parents."""
    if not isinstance(item, dict):
        raise BadWebhook(f"event [{index}] is not an object")
    kind_name = item.get("subscriptionType")
    if not isinstance(kind_name, str) or "." not in kind_name:
        raise BadWebhook(f"event [{index}].subscriptionType is missing")
    prefix, _, action = kind_name.partition(".")
    subject = "fromObjectId" if action == "associationChange" else "objectId"
    event_id, object_id, occurred = (
        item.get("eventId"),
        item.get(subject),
        item.get("occurredAt"),
    )
    for name, value in (("eventId", event_id), (subject, object_id), ("occurredAt", occurred)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            raise BadWebhook(f"event [{index}].{name} must be a non-negative integer")
    obj = _OBJECTS.get(prefix)
    if obj is None or action in ("merge", "privacyDeletion"):
        return None
    kind = "delete" if action == "deletion" else "change"
    assert isinstance(occurred, int)
    return WebhookEvent(
        event_key=f"webhook:{event_id}",
        object=obj,
        crm_id=str(object_id),
        kind=kind,
        occurred_at=datetime.fromtimestamp(occurred / 1000, UTC),
    )


class HubSpotWebhooks(WebhookReceiver):
    """Signed with the app's secret (credential ``webhook_secret``, else ``client_secret``)."""

    HEADERS: ClassVar[tuple[str, ...]] = (SIGNATURE_HEADER, TIMESTAMP_HEADER)

    def verify(self, request: WebhookRequest) -> None:
        credentials = request.credentials
        secret = credentials.get("webhook_secret") or credentials.get("client_secret")
        if not isinstance(secret, str) or not secret:
            raise BadWebhook("no webhook secret")
        now_ms = int(request.now.timestamp() * 1000)
        verify(secret, request.method, request.uri, request.body, request.headers, now_ms)

    def parse(self, body: Any) -> list[WebhookEvent]:
        return parse_events(body)
