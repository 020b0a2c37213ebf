"""Paused connections: a CRM that refused a connection's credentials stops its pushes.

A refused token request or an API that still answers 401/403 after a fresh token raises
``CredentialsRefused``; the push worker then pauses the connection (``paused: credentials`` and
the CRM's scrubbed message) instead of dead-lettering its rows, which wait in the outbox. While
paused, push tasks of the connection call nothing and the sweeper leaves its rows alone.
``config apply`` of the connection (new credentials) or ``manage.py connection resume`` ends the
pause and makes its waiting rows due at once.
"""

from __future__ import annotations

import psycopg

from syncsvc.db import Row
from syncsvc.outbox import lease
from syncsvc.scrub import MAX_ERROR_TEXT

ACTIVE = "active"
CREDENTIALS = "credentials"

PAUSE = """
INSERT INTO syncsvc.connection_pause (connection_id, reason, message)
VALUES (%(connection_id)s, %(reason)s, %(message)s)
ON CONFLICT (connection_id) DO NOTHING
"""
PAUSED = "SELECT reason, message FROM syncsvc.connection_pause WHERE connection_id = %s"
ALL_PAUSED = "SELECT connection_id, reason, message FROM syncsvc.connection_pause"
RESUME = "DELETE FROM syncsvc.connection_pause WHERE connection_id = %s"


def state_text(reason: str | None) -> str:
    """``active`` or ``paused: REASON``: what ``status`` and ``/metrics`` show."""
    return ACTIVE if reason is None else f"paused: {reason}"


def pause(
    db: psycopg.Connection[Row], connection_id: int, message: str, reason: str = CREDENTIALS
) -> bool:
    """Pause the connection; True when it was active until now (the first pause is kept)."""
    params = {"connection_id": connection_id, "reason": reason, "message": message[:MAX_ERROR_TEXT]}
    return db.execute(PAUSE, params).rowcount == 1


def paused(db: psycopg.Connection[Row], connection_id: int) -> str | None:
    """The reason the connection is paused, or None when it is active."""
    row = db.execute(PAUSED, (connection_id,)).fetchone()
    return None if row is None else str(row["reason"])


def all_paused(db: psycopg.Connection[Row]) -> dict[int, tuple[str, str]]:
    """Every paused connection's ``(reason, message)`` by connection id."""
    return {r["connection_id"]: (r["reason"], r["message"]) for r in db.execute(ALL_PAUSED)}


def resume(db: psycopg.Connection[Row], connection_id: int, backdate: float) -> int | None:
    """End the connection's pause and make its waiting rows due (for the sweeper: ``backdate``
    seconds ago). Returns how many rows are due, or None when it was not paused."""
    if db.execute(RESUME, (connection_id,)).rowcount == 0:
        return None
    return lease.make_due(db, connection_id, backdate)
