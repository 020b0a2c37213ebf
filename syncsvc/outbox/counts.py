"""What operators count: each connection's outbox rows by status, and its oldest pending one."""

from __future__ import annotations

import psycopg

from syncsvc.db import Row

# Every connection, with or without rows.
BY_CONNECTION = """
SELECT c.id, c.name, c.provider, c.mode, c.enabled,
       count(o.id) FILTER (WHERE o.status = 'pending') AS pending,
       count(o.id) FILTER (WHERE o.status = 'dead') AS dead,
       count(o.id) FILTER (WHERE o.status = 'delivered') AS delivered,
       extract(epoch FROM now() - min(o.updated_at) FILTER (WHERE o.status = 'pending'))
           AS oldest_pending_seconds
FROM syncsvc.connection c LEFT JOIN syncsvc.outbox o ON o.connection_id = c.id
GROUP BY c.id ORDER BY c.name
"""


def by_connection(db: psycopg.Connection[Row]) -> list[Row]:
    """Per connection (by name): ``id``, ``name``, ``provider``, ``mode``, ``enabled``, the
    ``pending``, ``dead`` and ``delivered`` row counts and ``oldest_pending_seconds`` (None
    when nothing is pending)."""
    return db.execute(BY_CONNECTION).fetchall()
