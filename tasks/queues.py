"""Queue names: each provider has its own, so a slow CRM only backs up its own queue (I-4)."""

from __future__ import annotations

MAINTENANCE = "maintenance"
INBOUND = "inbound"
"""CRM changes flowing back (``tasks.inbound``), consumed by the sync workers."""


def sync_queue(provider: str) -> str:
    return f"sync.{provider}"


def push_queue(provider: str) -> str:
    return f"push.{provider}"
