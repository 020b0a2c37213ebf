"""Pipedrive webhooks v2: basic auth on the subscription URL, one event per request.

A webhook is created with ``POST /v1/webhooks`` (``subscription_url``, ``event_action``,
``event_object``, ``http_auth_user``, ``http_auth_password``, ``version: "2.0"``); Pipedrive
then calls the URL with that user and password as HTTP basic auth (its only proof: v2 webhooks
are not signed). The connection holds them as credentials ``webhook_user`` and
``webhook_password``. A v2 body is ``{"data": record or null, "previous": changed fields or
null, "meta": {"action": "create" | "change" | "delete", "entity": "person", "entity_id",
"timestamp", "version": "2.0", …}}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from providers.webhooks import BadWebhook, WebhookEvent, WebhookReceiver, WebhookRequest

AUTHORIZATION = "Authorization"
OBJECTS = {"person": "persons", "organization": "organizations", "deal": "deals"}
ACTIONS = {"create": "change", "change": "change", "delete": "delete"}
ENTITIES = {obj: entity for entity, obj in OBJECTS.items()}
MAX_ID = 20
MAX_STAMP = 40
RECHECK = timedelta(hours=1)
"""How often the webhooks syncsvc created are looked for again (a person may delete one)."""


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class PipedriveWebhooks(WebhookReceiver):
    HEADERS: ClassVar[tuple[str, ...]] = (AUTHORIZATION,)

    def verify(self, request: WebhookRequest) -> None:
        user = request.credentials.get("webhook_user")
        password = request.credentials.get("webhook_password")
        if not isinstance(user, str) or not isinstance(password, str) or not user or not password:
            raise BadWebhook("no webhook_user/webhook_password")
        header = request.headers.get(AUTHORIZATION) or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded or len(encoded) > 1000:
            raise BadWebhook("no basic authentication")
        try:
            given_user, _, given_password = (
                base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            raise BadWebhook("malformed basic authentication") from None
        # both compared, whatever the first gives: no timing hint which one was wrong
        if not (_same(given_user, user) & _same(given_password, password)):
            raise BadWebhook("wrong user or password")

    def parse(self, body: Any) -> list[WebhookEvent]:
        if not isinstance(body, dict) or not isinstance(body.get("meta"), dict):
            raise BadWebhook("the body must be a webhook object with a meta block")
        meta = body["meta"]
        if not str(meta.get("version", "")).startswith("2"):
            raise BadWebhook("only webhooks v2 are taken (meta.version 2.0)")
        action, entity = meta.get("action"), meta.get("entity")
        entity_id, stamp = meta.get("entity_id"), meta.get("timestamp")
        if not isinstance(action, str) or not isinstance(entity, str):
            raise BadWebhook("meta.action and meta.entity must be strings")
        if isinstance(entity_id, int) and not isinstance(entity_id, bool):
            entity_id = str(entity_id)
        if not isinstance(entity_id, str) or not entity_id.isdigit() or len(entity_id) > MAX_ID:
            raise BadWebhook("meta.entity_id must be a record id")
        if not isinstance(stamp, str) or len(stamp) > MAX_STAMP:
            raise BadWebhook("meta.timestamp must be a time")
        try:
            occurred = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            raise BadWebhook("meta.timestamp must be an ISO 8601 time") from None
        obj, kind = OBJECTS.get(entity), ACTIONS.get(action)
        if obj is None or kind is None:
            return []
        key = f"webhook:{entity}:{entity_id}:{action}:{stamp}"
        return [WebhookEvent(key, obj, entity_id, kind, occurred)]


def subscription(notify_url: str, objects: Sequence[str], user: str, password: str) -> str:
    """A digest of what the webhooks should be: URL, objects and their basic auth."""
    text = json.dumps([notify_url, sorted(objects), user, password])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def held_state(watching: str, checked: datetime) -> str:
    return json.dumps({"watching": watching, "checked": checked.isoformat()})


def due(held: str | None, watching: str, now: datetime) -> tuple[bool, bool]:
    """(look again, the subscription changed): the webhooks are looked for when their settings
    changed or the last look is more than ``RECHECK`` ago."""
    try:
        state = json.loads(held) if held else {}
        checked = datetime.fromisoformat(state["checked"])
    except (ValueError, KeyError, TypeError):
        return True, True
    if state.get("watching") != watching:
        return True, True
    return now - checked >= RECHECK, False
