"""Zoho CRM notification channels (instant notifications): subscribing, and reading a callback.

``POST /crm/v8/actions/watch`` subscribes a channel (``channel_id``, ``events`` such as
``Contacts.all``, ``notify_url``, ``token`` of at most 50 characters, ``channel_expiry``).
Zoho then POSTs ``{"server_time", "module", "resource_uri", "ids", "affected_fields",
"operation": "insert" | "update" | "delete", "channel_id", "token", "query_params"}`` to the
URL. The token sent back is the only proof the call is Zoho's: the connection holds it as
credential ``webhook_token`` and every callback must carry it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from providers.webhooks import BadWebhook, WebhookEvent, WebhookReceiver, WebhookRequest

MAX_TOKEN = 50
MAX_IDS = 1000
OPERATIONS = {"insert": "change", "update": "change", "delete": "delete"}
_ID = re.compile(r"^[0-9]{1,25}$")
_MODULE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def watch_body(
    channel_id: int, modules: list[str], notify_url: str, token: str, expires: datetime
) -> dict[str, Any]:
    if not 1 <= len(token) <= MAX_TOKEN:
        raise ValueError(f"a channel token is 1 to {MAX_TOKEN} characters")
    return {
        "watch": [
            {
                "channel_id": channel_id,
                "events": [f"{m}.all" for m in modules],
                "channel_expiry": expires.astimezone(UTC).replace(microsecond=0).isoformat(),
                "token": token,
                "notify_url": notify_url,
            }
        ]
    }


def _subscription(notify_url: str, modules: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps([notify_url, sorted(modules)]).encode()).hexdigest()[:32]


def held_state(notify_url: str, modules: Sequence[str], expires: datetime) -> str:
    """What is kept of a channel: what it watches (a digest) and when it ends."""
    return json.dumps(
        {"watching": _subscription(notify_url, modules), "until": expires.isoformat()}
    )


def channel_state(notify_url: str, modules: Sequence[str], held: str | None) -> datetime | None:
    """When the kept channel ends, if it watches ``modules`` for ``notify_url``; else None."""
    try:
        state = json.loads(held) if held else {}
        until = datetime.fromisoformat(state["until"]) if isinstance(state, dict) else None
    except (ValueError, KeyError, TypeError):
        return None
    if until is None or state.get("watching") != _subscription(notify_url, modules):
        return None
    return until if until.tzinfo else until.replace(tzinfo=UTC)


class ZohoNotifications(WebhookReceiver):
    def verify(self, request: WebhookRequest) -> None:
        expected = request.credentials.get("webhook_token")
        if not isinstance(expected, str) or not expected:
            raise BadWebhook("no webhook_token")
        try:
            body = json.loads(request.body)
        except ValueError:
            raise BadWebhook("the body is not JSON") from None
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), expected.encode()):
            raise BadWebhook("the channel token does not match")

    def parse(self, body: Any) -> list[WebhookEvent]:
        if not isinstance(body, dict):
            raise BadWebhook("the body must be a notification object")
        module, operation, ids = body.get("module"), body.get("operation"), body.get("ids")
        channel, server_time = body.get("channel_id"), body.get("server_time")
        if not isinstance(module, str) or not _MODULE.match(module):
            raise BadWebhook("module must be a module API name")
        if not isinstance(ids, list) or len(ids) > MAX_IDS:
            raise BadWebhook(f"ids must be a list of at most {MAX_IDS} record ids")
        if not all(isinstance(i, str) and _ID.match(i) for i in ids):
            raise BadWebhook("ids must be record ids")
        if isinstance(server_time, bool) or not isinstance(server_time, int) or server_time < 0:
            raise BadWebhook("server_time must be milliseconds since the epoch")
        if (
            not isinstance(channel, (str, int))
            or isinstance(channel, bool)
            or len(str(channel)) > 25
        ):
            raise BadWebhook("channel_id must be a channel id")
        kind = OPERATIONS.get(str(operation))
        if kind is None:
            return []
        occurred = datetime.fromtimestamp(server_time / 1000, UTC)
        return [
            WebhookEvent(
                f"webhook:{channel}:{module}:{record_id}:{operation}:{server_time}",
                module,
                record_id,
                kind,
                occurred,
            )
            for record_id in dict.fromkeys(ids)
        ]
