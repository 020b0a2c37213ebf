"""What a push task is called in Flower and the worker log: ``syncsvc.push[CONNECTION]``, and
``syncsvc.push[CONNECTION paused: REASON]`` while the connection is paused.

Celery asks a task for its "shadow" name when it sends it (the persist step that ends a chain,
a push re-enqueuing its retries). The names and pauses come from PostgreSQL at most every
``TTL`` seconds per process; when they cannot be read the plain task name is used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from syncsvc import pause
from syncsvc.db import transaction

log = logging.getLogger("syncsvc.push")

TTL = 5.0
NEW_TTL = 1.0
LABELS = """
SELECT c.id, c.name, p.reason
FROM syncsvc.connection c LEFT JOIN syncsvc.connection_pause p ON p.connection_id = c.id
"""


class ConnectionLabels:
    """Connection id → ``NAME`` or ``NAME paused: REASON``, refreshed every ``ttl`` seconds."""

    def __init__(self, ttl: float = TTL) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._labels: dict[int, str] = {}

    def label(self, dsn: str, connection_id: int) -> str | None:
        """A connection not seen yet (created since the last load) reloads within a second."""
        with self._lock:
            age = time.monotonic() - self._loaded_at
            if age >= self._ttl or (connection_id not in self._labels and age >= NEW_TTL):
                self._labels = self._load(dsn)
                self._loaded_at = time.monotonic()
            return self._labels.get(connection_id)

    @staticmethod
    def _load(dsn: str) -> dict[int, str]:
        try:
            with transaction(dsn) as db:
                rows = db.execute(LABELS).fetchall()
        except psycopg.Error as exc:
            log.debug("task labels unavailable: %s", type(exc).__name__)
            return {}
        return {
            int(r["id"]): str(r["name"])
            if r["reason"] is None
            else f"{r['name']} {pause.state_text(r['reason'])}"
            for r in rows
        }


LABELS_OF_THIS_PROCESS = ConnectionLabels()


def push_name(task_name: str, dsn: str | None, args: Sequence[Any] | None) -> str | None:
    """``task_name[label]`` for a push whose order names a known connection, else None."""
    order = args[0] if args else None
    if dsn is None or not isinstance(order, Mapping):
        return None
    connection_id = order.get("connection_id")
    if not isinstance(connection_id, int):
        return None
    label = LABELS_OF_THIS_PROCESS.label(dsn, connection_id)
    return None if label is None else f"{task_name}[{label}]"
