"""What a push task is called in Flower and the worker log: ``syncsvc.push[CONNECTION]``, and
``syncsvc.push[CONNECTION paused: REASON]`` while the connection is paused.

Celery asks a task for its "shadow" name when it sends it (the persist step that ends a chain,
a push re-enqueuing its retries, the sweeper). The connection's name comes from the runtime
config as the sending task last loaded it (``SyncTask``'s cache, asked nothing more); the pauses
from PostgreSQL at most every ``TTL`` seconds per process. When either is missing the plain task
name is used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from syncsvc import pause
from syncsvc.config.runtime import RuntimeConfig
from syncsvc.db import transaction

log = logging.getLogger("syncsvc.push")

TTL = 5.0


class PauseReasons:
    """Connection id → the reason it is paused, read again every ``ttl`` seconds (None: they
    could not be read)."""

    def __init__(self, ttl: float = TTL) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._reasons: dict[int, str] | None = None

    def get(self, dsn: str) -> Mapping[int, str] | None:
        with self._lock:
            if time.monotonic() - self._loaded_at >= self._ttl:
                self._reasons = self._load(dsn)
                self._loaded_at = time.monotonic()
            return self._reasons

    @staticmethod
    def _load(dsn: str) -> dict[int, str] | None:
        try:
            with transaction(dsn) as db:
                paused = pause.all_paused(db)
        except psycopg.Error as exc:
            log.debug("task labels unavailable: %s", type(exc).__name__)
            return None
        return {connection_id: reason for connection_id, (reason, _) in paused.items()}


PAUSES_SEEN_BY_THIS_PROCESS = PauseReasons()


def push_name(
    task_name: str, dsn: str | None, config: RuntimeConfig | None, args: Sequence[Any] | None
) -> str | None:
    """``task_name[label]`` for a push whose order names a connection of ``config``, else
    None."""
    order = args[0] if args else None
    if dsn is None or config is None or not isinstance(order, Mapping):
        return None
    connection_id = order.get("connection_id")
    conn = config.connections.get(connection_id) if isinstance(connection_id, int) else None
    reasons = None if conn is None else PAUSES_SEEN_BY_THIS_PROCESS.get(dsn)
    if conn is None or reasons is None:
        return None
    reason = reasons.get(conn.id)
    label = conn.name if reason is None else f"{conn.name} {pause.state_text(reason)}"
    return f"{task_name}[{label}]"
