"""What operators look at: per-connection counts, backlog and lag."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from syncsvc import pause, stats
from syncsvc.db import Row
from syncsvc.outbox import counts
from syncsvc.settings import Settings

DEAD_LETTERS = """
SELECT connection_id, count(*) AS n FROM syncsvc.dead_letter
WHERE replayed_at IS NULL GROUP BY connection_id
"""
EVENT_BACKLOG = """
SELECT count(*) FILTER (WHERE dispatched_at IS NULL) AS undispatched,
       count(*) FILTER (WHERE dispatched_at IS NOT NULL) AS in_flight,
       extract(epoch FROM now() - min(created_at)) AS oldest_seconds
FROM syncsvc.sync_event
"""


@dataclass(frozen=True)
class ConnectionStatus:
    id: int
    name: str
    provider: str
    mode: str
    enabled: bool
    captured: int
    pushed: int
    failed: int
    pending: int
    delivered_records: int
    dead_letters: int
    oldest_pending_seconds: float | None
    rate_limit_waits: int
    paused: str | None = None
    """Why the connection is paused (``credentials``), or None when it is active."""
    pause_message: str | None = None
    """The CRM's (scrubbed) message that paused it."""

    @property
    def state(self) -> str:
        """``active`` or ``paused: credentials``."""
        return pause.state_text(self.paused)


@dataclass(frozen=True)
class Backlog:
    undispatched: int
    in_flight: int
    oldest_seconds: float | None


def collect(
    db: psycopg.Connection[Row], settings: Settings
) -> tuple[list[ConnectionStatus], Backlog]:
    dead = {r["connection_id"]: int(r["n"]) for r in db.execute(DEAD_LETTERS)}
    paused = pause.all_paused(db)
    out: list[ConnectionStatus] = []
    for r in counts.by_connection(db):
        counters = stats.read(settings.broker_url, settings.redis_prefix, r["id"])
        out.append(
            ConnectionStatus(
                id=r["id"],
                name=r["name"],
                provider=r["provider"],
                mode=r["mode"],
                enabled=r["enabled"],
                captured=counters["captured"],
                pushed=counters["pushed"],
                failed=counters["failed"],
                pending=int(r["pending"]),
                delivered_records=int(r["delivered"]),
                dead_letters=dead.get(r["id"], 0),
                oldest_pending_seconds=(
                    float(r["oldest_pending_seconds"])
                    if r["oldest_pending_seconds"] is not None
                    else None
                ),
                rate_limit_waits=counters["rate_limit_waits"],
                paused=paused[r["id"]][0] if r["id"] in paused else None,
                pause_message=paused[r["id"]][1] if r["id"] in paused else None,
            )
        )
    b = db.execute(EVENT_BACKLOG).fetchone()
    assert b is not None
    backlog = Backlog(
        undispatched=int(b["undispatched"]),
        in_flight=int(b["in_flight"]),
        oldest_seconds=float(b["oldest_seconds"]) if b["oldest_seconds"] is not None else None,
    )
    return out, backlog
