"""Webhook deliveries of a simulated CRM: JSON requests sent in the background, in order, each
sent again with a growing pause (up to ``ATTEMPTS`` times) while the receiver fails, the way a
CRM retries an endpoint that does not answer 2xx."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

ATTEMPTS = 10


@dataclass(frozen=True)
class Delivery:
    url: str
    body: Any
    headers: Mapping[str, str]


class Deliveries:
    def __init__(self, name: str) -> None:
        self.pending: queue.Queue[Delivery] = queue.Queue()
        self.counts = {"webhook_requests": 0, "webhook_failures": 0, "webhook_events": 0}
        self.session = requests.Session()
        self._thread = threading.Thread(target=self._run, name=f"{name}-webhooks", daemon=True)
        self._thread.start()

    def send(self, delivery: Delivery) -> None:
        self.counts["webhook_events"] += 1
        self.pending.put(delivery)

    def _run(self) -> None:
        while True:
            self._deliver(self.pending.get())

    def _deliver(self, delivery: Delivery) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            headers = {"Content-Type": "application/json", **delivery.headers}
            self.counts["webhook_requests"] += 1
            try:
                response = self.session.post(
                    delivery.url,
                    data=json.dumps(delivery.body).encode(),
                    headers=headers,
                    timeout=10,
                )
                if response.status_code < 300:
                    return
            except requests.RequestException:
                pass
            self.counts["webhook_failures"] += 1
            time.sleep(min(0.2 * 2 ** (attempt - 1), 5.0))
