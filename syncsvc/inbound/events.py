"""What a CRM reported, stored before anything is applied: ``inbound_event`` (one row per event
key per connection, so a repeated webhook or an overlapping poll adds nothing) and the poll
high-water marks (``inbound_cursor``), written in the transaction that stores the events read.

An event moves from ``received`` to ``applied`` (or ``ignored``: nothing to change; ``failed``:
named in ``detail``) in the transaction that writes the internal table, so whatever a restart or
a lost Redis drops, every event is applied once: ``received`` ones are claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.scrub import error_text

MAX_DETAIL = 1000

INSERT_EVENTS = """
INSERT INTO syncsvc.inbound_event
    (connection_id, object, crm_id, event_key, kind, source, modified_at)
SELECT %(connection_id)s, e.object, e.crm_id, e.event_key, e.kind, %(source)s, e.modified_at
FROM jsonb_to_recordset(%(events)s) AS e(object text, crm_id text, event_key text, kind text,
                                         modified_at timestamptz)
ORDER BY e.event_key
ON CONFLICT (connection_id, event_key) DO NOTHING
RETURNING id
"""

# SKIP LOCKED: two workers never apply the same event; a claim holds its rows until it commits.
CLAIM = """
SELECT id, object, crm_id, kind, modified_at FROM syncsvc.inbound_event
WHERE connection_id = %(connection_id)s AND status = 'received'
ORDER BY id LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

SETTLE = """
UPDATE syncsvc.inbound_event AS e SET status = s.status, detail = s.detail, applied_at = now()
FROM jsonb_to_recordset(%(settled)s) AS s(id bigint, status text, detail text)
WHERE e.id = s.id
"""

WAITING = """
SELECT DISTINCT connection_id FROM syncsvc.inbound_event
WHERE status = 'received' AND received_at < now() - make_interval(secs => %(grace)s)
"""

READ_CURSOR = """
SELECT high_water, token, updated_at FROM syncsvc.inbound_cursor
WHERE connection_id = %(connection_id)s AND object = %(object)s
FOR UPDATE
"""

WRITE_CURSOR = """
INSERT INTO syncsvc.inbound_cursor AS c (connection_id, object, high_water, token, updated_at)
VALUES (%(connection_id)s, %(object)s, %(high_water)s, %(token)s, now())
ON CONFLICT (connection_id, object) DO UPDATE SET
    high_water = GREATEST(c.high_water, EXCLUDED.high_water),
    token = EXCLUDED.token, updated_at = now()
"""


@dataclass(frozen=True)
class Reported:
    """One change as a CRM reported it."""

    object: str
    crm_id: str
    event_key: str
    kind: str
    """``change`` or ``delete``."""
    modified_at: datetime | None


@dataclass(frozen=True)
class Settled:
    id: int
    status: str
    """``applied``, ``ignored`` or ``failed``."""
    detail: str | None = None


@dataclass(frozen=True)
class Cursor:
    high_water: datetime | None
    token: str | None
    updated_at: datetime | None


def store(
    db: psycopg.Connection[Row], connection_id: int, source: str, events: Sequence[Reported]
) -> int:
    """Store the events not seen before; returns how many were new."""
    if not events:
        return 0
    rows = [
        {
            "object": e.object,
            "crm_id": e.crm_id,
            "event_key": e.event_key,
            "kind": e.kind,
            "modified_at": e.modified_at.isoformat() if e.modified_at else None,
        }
        for e in events
    ]
    params = {"connection_id": connection_id, "source": source, "events": Jsonb(rows)}
    return len(db.execute(INSERT_EVENTS, params).fetchall())


def claim(db: psycopg.Connection[Row], connection_id: int, limit: int) -> list[Row]:
    return db.execute(CLAIM, {"connection_id": connection_id, "limit": limit}).fetchall()


def settle(db: psycopg.Connection[Row], settled: Sequence[Settled]) -> None:
    if not settled:
        return
    rows = [
        {
            "id": s.id,
            "status": s.status,
            "detail": error_text(s.detail)[:MAX_DETAIL] if s.detail else None,
        }
        for s in settled
    ]
    db.execute(SETTLE, {"settled": Jsonb(rows)})


def waiting_connections(db: psycopg.Connection[Row], grace_seconds: float) -> list[int]:
    """Connections with events received more than ``grace_seconds`` ago and not yet applied."""
    return [r["connection_id"] for r in db.execute(WAITING, {"grace": grace_seconds})]


def read_cursor(db: psycopg.Connection[Row], connection_id: int, obj: str) -> Cursor:
    """The object's poll position, locked until the caller commits (one poller at a time)."""
    row = db.execute(READ_CURSOR, {"connection_id": connection_id, "object": obj}).fetchone()
    if row is None:
        return Cursor(None, None, None)
    return Cursor(row["high_water"], row["token"], row["updated_at"])


def write_cursor(
    db: psycopg.Connection[Row],
    connection_id: int,
    obj: str,
    high_water: datetime | None,
    token: str | None = None,
) -> None:
    params = {
        "connection_id": connection_id,
        "object": obj,
        "high_water": high_water,
        "token": token,
    }
    db.execute(WRITE_CURSOR, params)
