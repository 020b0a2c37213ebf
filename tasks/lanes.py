"""Live work before backfill work: whether live messages wait in a queue right now.

A backfill's push carries hundreds of rows and runs for seconds against a slow CRM; between two
of its CRM calls it asks ``live_waiting`` and, when a live push waits in its queue, hands the
rest of its rows back to the queue behind it (``tasks.push``) instead of holding the worker.
"""

from __future__ import annotations

import logging
from typing import cast

import redis

from syncsvc.redisconn import shared_client
from syncsvc.settings import Settings
from tasks.queues import priority_keys

log = logging.getLogger("syncsvc.push")


def live_waiting(settings: Settings, queue: str) -> bool:
    """Whether live (not backfill) messages wait in ``queue``; False when Redis cannot say."""
    live, _backfill = priority_keys(queue)
    try:
        return cast(int, shared_client(settings.broker_url).llen(settings.redis_prefix + live)) > 0
    except redis.RedisError as exc:
        log.warning("cannot read the length of %s: %s", queue, exc)
        return False
