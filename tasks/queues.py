"""Queue names: each provider has its own, so a slow CRM only backs up its own queue (I-4)."""

from __future__ import annotations

MAINTENANCE = "maintenance"
INBOUND = "inbound"
"""CRM changes flowing back (``tasks.inbound``), consumed by the sync workers."""


BACKFILL_PRIORITY = 9
"""A backfill's chains and pushes wait behind live ones. The Redis transport keeps one list per
priority step (0 is served first; 9 is its last step) and a worker's BRPOP asks the lists in
priority order, so a live chain queued after a thousand backfill chains is still taken next."""
PRIORITY_SEP = "\x06\x16"
"""kombu's separator between a queue's name and its priority step in the Redis list's key."""


def priority_keys(queue: str) -> tuple[str, str]:
    """The Redis lists holding ``queue``'s live and its backfill messages (before the prefix)."""
    return queue, f"{queue}{PRIORITY_SEP}{BACKFILL_PRIORITY}"


def sync_queue(provider: str) -> str:
    return f"sync.{provider}"


def push_queue(provider: str) -> str:
    return f"push.{provider}"
