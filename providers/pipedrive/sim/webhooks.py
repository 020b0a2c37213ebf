"""The simulated account's webhooks v2: ``POST /v1/webhooks`` subscriptions, and one request
per record change to each matching subscription, with its basic auth.

Every change, made through the API (``change_source: "api"``) or as a sales rep
(``/_sim/edit``, ``"app"``), becomes ``{"data", "previous", "meta"}``: ``create`` with the new
record and ``previous: null``, ``change`` with the record and the changed fields' old values,
``delete`` with ``data: null`` and the last state as ``previous``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Mapping
from typing import Any

from providers.pipedrive.webhooks import basic_auth
from providers.simulation.deliveries import Deliveries, Delivery

ENTITIES = {"persons": "person", "organizations": "organization", "deals": "deal"}
ACTIONS = ("create", "change", "delete", "*")
MAX_WEBHOOKS = 40
"""Pipedrive's limit per user."""
COMPANY_ID = 7654321
USER_ID = 1


class Problem(ValueError):
    """A subscription Pipedrive would refuse (the message is its reason)."""


class Webhooks:
    def __init__(self) -> None:
        self.subscriptions: dict[int, dict[str, Any]] = {}
        self.ids = itertools.count(1)
        self.deliveries = Deliveries("pipedrive")

    def add(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise Problem("the body must be an object")
        url, action = body.get("subscription_url"), body.get("event_action")
        entity = body.get("event_object")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise Problem("subscription_url must be a URL")
        if action not in ACTIONS:
            raise Problem(f"event_action must be one of {', '.join(ACTIONS)}")
        if entity != "*" and entity not in ENTITIES.values():
            raise Problem("event_object must be person, organization, deal or *")
        if len(self.subscriptions) >= MAX_WEBHOOKS:
            raise Problem(f"a user may have at most {MAX_WEBHOOKS} webhooks")
        webhook_id = next(self.ids)
        subscription = {
            "id": webhook_id,
            "subscription_url": url,
            "event_action": action,
            "event_object": entity,
            "version": str(body.get("version") or "1.0"),
            "http_auth_user": body.get("http_auth_user"),
            "http_auth_password": body.get("http_auth_password"),
            "is_active": 1,
        }
        self.subscriptions[webhook_id] = subscription
        return self.listed()[-1]

    def listed(self) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in sub.items() if k != "http_auth_password"}
            for sub in self.subscriptions.values()
        ]

    def remove(self, webhook_id: int) -> bool:
        return self.subscriptions.pop(webhook_id, None) is not None

    def clear(self) -> None:
        self.subscriptions.clear()

    def record_changed(
        self,
        object_name: str,
        action: str,
        data: Mapping[str, Any] | None,
        previous: Mapping[str, Any] | None,
        source: str,
    ) -> None:
        entity = ENTITIES[object_name]
        record = data if data is not None else previous
        assert record is not None
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for sub in list(self.subscriptions.values()):
            if sub["event_action"] not in ("*", action) or sub["event_object"] not in ("*", entity):
                continue
            if not sub["version"].startswith("2"):
                continue  # v1's payload is not simulated
            meta = {
                "action": action,
                "entity": entity,
                "entity_id": str(record["id"]),
                "id": str(uuid.uuid4()),
                "correlation_id": str(uuid.uuid4()),
                "company_id": str(COMPANY_ID),
                "user_id": str(USER_ID),
                "is_bulk_edit": False,
                "timestamp": stamp,
                "type": "general",
                "version": "2.0",
                "webhook_id": str(sub["id"]),
                "webhook_owner_id": str(USER_ID),
                "change_source": source,
                "permitted_user_ids": [str(USER_ID)],
                "attempt": 1,
                "host": "company.pipedrive.com",
            }
            headers = {}
            if sub["http_auth_user"]:
                headers["Authorization"] = basic_auth(
                    str(sub["http_auth_user"]), str(sub["http_auth_password"] or "")
                )
            body = {"data": data, "previous": previous, "meta": meta}
            self.deliveries.send(Delivery(sub["subscription_url"], body, headers))
