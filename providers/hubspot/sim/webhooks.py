"""The simulated account's webhook subscription: signed v3 requests to a configured URL.

``POST /_sim/config {"webhook_url": URL, "webhook_secret": SECRET}`` subscribes (an empty URL
unsubscribes). Every record change, made through the API or as a sales rep (``/_sim/edit``),
becomes HubSpot's events (``contact.creation``, one ``contact.propertyChange`` per changed
property, ``contact.deletion``), sent in the background in requests of up to 100 events, signed
as HubSpot signs them, and sent again (up to ``ATTEMPTS`` times) while the receiver fails.
An association made or removed becomes two ``associationChange`` events, one from each side
(``contact.associationChange`` from the contact to the company, ``company.associationChange``
back), with ``associationType`` (``CONTACT_TO_COMPANY``), ``fromObjectId``, ``toObjectId``,
``associationRemoved`` and ``isPrimaryAssociation`` and, as HubSpot's, no ``objectId``.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests

from providers.hubspot.webhooks import OBJECT_PREFIX, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

MAX_EVENTS_PER_REQUEST = 100
ATTEMPTS = 10
APP_ID = 424242
PORTAL_ID = 62515
PRIMARY_TYPE_IDS = frozenset({1, 2, 5, 6})
"""HubSpot's primary association types: contact → company (1), company → contact (2), deal →
company (5), company → deal (6)."""


class WebhookSender:
    def __init__(self) -> None:
        self.url = ""
        self.secret = ""
        self.ids = itertools.count(1)
        self.pending: queue.Queue[dict[str, Any]] = queue.Queue()
        self.counts = {"webhook_events": 0, "webhook_requests": 0, "webhook_failures": 0}
        self.session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="hubspot-webhooks", daemon=True)
        self._thread.start()

    def configure(self, options: Mapping[str, Any]) -> None:
        if "webhook_url" in options:
            self.url = str(options["webhook_url"] or "")
        if "webhook_secret" in options:
            self.secret = str(options["webhook_secret"] or "")

    def record_change(
        self, object_name: str, record_id: str, action: str, changed: Mapping[str, str], source: str
    ) -> None:
        """Queue the events of one change (``creation``, ``propertyChange`` or ``deletion``)."""
        if not self.url:
            return
        prefix = OBJECT_PREFIX.get(object_name, object_name)
        now = int(time.time() * 1000)
        base = {
            "objectId": int(record_id),
            "occurredAt": now,
            "portalId": PORTAL_ID,
            "appId": APP_ID,
            "attemptNumber": 0,
            "changeSource": source,
        }
        if action == "propertyChange":
            for name, value in changed.items():
                event = {"subscriptionType": f"{prefix}.propertyChange", **base}
                self._put({**event, "propertyName": name, "propertyValue": value})
        else:
            self._put({"subscriptionType": f"{prefix}.{action}", **base})

    def association_change(
        self,
        from_object: str,
        from_id: str,
        to_object: str,
        to_id: str,
        type_id: int,
        removed: bool,
        source: str,
    ) -> None:
        """Queue the two ``associationChange`` events of one association made or removed."""
        if not self.url:
            return
        now = int(time.time() * 1000)
        sides = ((from_object, from_id, to_object, to_id), (to_object, to_id, from_object, from_id))
        for one, one_id, other, other_id in sides:
            prefix = OBJECT_PREFIX.get(one, one)
            self._put(
                {
                    "subscriptionType": f"{prefix}.associationChange",
                    "occurredAt": now,
                    "portalId": PORTAL_ID,
                    "appId": APP_ID,
                    "attemptNumber": 0,
                    "changeSource": source,
                    "associationType": f"{prefix}_TO_{OBJECT_PREFIX.get(other, other)}".upper(),
                    "fromObjectId": int(one_id),
                    "toObjectId": int(other_id),
                    "associationRemoved": removed,
                    "isPrimaryAssociation": type_id in PRIMARY_TYPE_IDS,
                }
            )

    def _put(self, event: dict[str, Any]) -> None:
        event["eventId"] = next(self.ids)
        event["subscriptionId"] = 1
        self.counts["webhook_events"] += 1
        self.pending.put(event)

    def _run(self) -> None:
        while True:
            batch = [self.pending.get()]
            while len(batch) < MAX_EVENTS_PER_REQUEST:
                try:
                    batch.append(self.pending.get(timeout=0.05))
                except queue.Empty:
                    break
            self._deliver(batch)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        for attempt in range(ATTEMPTS):
            url, secret = self.url, self.secret
            if not url:
                return
            for event in batch:
                event["attemptNumber"] = attempt
            body = json.dumps(batch).encode()
            stamp = int(time.time() * 1000)
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(secret, "POST", url, body, stamp),
                TIMESTAMP_HEADER: str(stamp),
            }
            self.counts["webhook_requests"] += 1
            try:
                response = self.session.post(url, data=body, headers=headers, timeout=10)
                if response.status_code < 300:
                    return
            except requests.RequestException:
                pass
            self.counts["webhook_failures"] += 1
            time.sleep(min(0.2 * 2**attempt, 5.0))
