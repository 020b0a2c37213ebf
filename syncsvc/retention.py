"""Retention: delete what would otherwise grow without bound, in small batches.

What grows, and what happens to it:

- ``sync_log``: one row per push outcome; kept ``SYNCSVC_SYNC_LOG_DAYS`` (14).
- ``dead_letter``: a replayed dead letter is kept ``SYNCSVC_DEAD_LETTER_DAYS`` (30) after its
  replay; one not replayed stays until a person replays or purges it (``dlq purge``).
- ``api_event_id``: client event ids of ``POST /v1/events``, kept
  ``SYNCSVC_API_EVENT_ID_RETENTION_HOURS`` (168). Each ingest request already forgets a few
  expired ones; this also forgets them when no more requests come.
- ``inbound_event``: one row per change a CRM reported; an ``applied`` or ``ignored`` one is
  kept ``SYNCSVC_INBOUND_EVENT_DAYS`` (14) after it was settled. A ``received`` one is not
  applied yet and must stay (the inbound tick hands it on until it is); a ``failed`` one stays
  until a person deletes it, like a dead letter. Its event key is its idempotency: a delivery
  repeated after the event is gone is stored and applied again, which reads the record's
  current state and writes what differs (nothing, if it is what the row holds).
- ``sync_event``: nothing to do. An event is deleted in the transaction that persists it for
  its last target connection (``syncsvc.pipeline.persist``), or by the bridge when no rule
  wants it; what remains is not done yet (I-1: it must not be deleted).

Each batch is one statement in its own short transaction that deletes at most ``batch_size``
rows, found through an index and locked with ``SKIP LOCKED`` (a row another transaction holds is
left for the next run), under a ``lock_timeout``: no long locks, nothing blocks writers. A run
stops when a batch comes back short or when its time budget is spent (the next run goes on).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psycopg

from syncsvc.db import transaction
from syncsvc.settings import Settings

log = logging.getLogger("syncsvc.retention")

LOCK_TIMEOUT = "SET LOCAL lock_timeout = '2s'"
STATEMENT_TIMEOUT = "SET LOCAL statement_timeout = '60s'"

# ``ctid = ANY(ARRAY(...))`` is a TID scan: only the rows found are visited.
PRUNE_SYNC_LOG = """
DELETE FROM syncsvc.sync_log WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM syncsvc.sync_log
    WHERE at < now() - make_interval(days => %(days)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
))
"""
PRUNE_REPLAYED_DEAD_LETTERS = """
DELETE FROM syncsvc.dead_letter WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM syncsvc.dead_letter
    WHERE replayed_at IS NOT NULL AND replayed_at < now() - make_interval(days => %(days)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
))
"""
# Through ix_inbound_event_settled (a partial index of the settled events by applied_at).
PRUNE_INBOUND_EVENTS = """
DELETE FROM syncsvc.inbound_event WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM syncsvc.inbound_event
    WHERE status IN ('applied', 'ignored')
      AND applied_at < now() - make_interval(days => %(days)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
))
"""
PRUNE_API_EVENT_IDS = """
DELETE FROM syncsvc.api_event_id WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM syncsvc.api_event_id
    WHERE created_at < now() - make_interval(hours => %(hours)s)
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
))
"""


@dataclass
class Pruned:
    """Rows deleted per table, and the batches (statements) it took."""

    rows: dict[str, int] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _prune(
    dsn: str,
    name: str,
    statement: str,
    params: dict[str, int],
    batch_size: int,
    deadline: float,
    out: Pruned,
) -> None:
    out.rows.setdefault(name, 0)
    out.batches.setdefault(name, 0)
    while True:
        with transaction(dsn) as db:
            db.execute(LOCK_TIMEOUT)
            db.execute(STATEMENT_TIMEOUT)
            try:
                deleted = db.execute(statement, {**params, "limit": batch_size}).rowcount
            except psycopg.errors.LockNotAvailable:
                log.info("retention: %s is busy, left for the next run", name)
                return
        out.rows[name] += deleted
        out.batches[name] += 1
        if deleted < batch_size or time.monotonic() >= deadline:
            return


def prune(settings: Settings, batch_size: int | None = None, budget: float = 120.0) -> Pruned:
    """Delete what is past its retention, ``batch_size`` rows a statement (default
    ``SYNCSVC_PRUNE_BATCH_SIZE``), for at most about ``budget`` seconds per table."""
    size = batch_size or settings.prune_batch_size
    out = Pruned()
    targets: list[tuple[str, str, dict[str, int]]] = [
        ("sync_log", PRUNE_SYNC_LOG, {"days": settings.sync_log_days}),
        ("dead_letter", PRUNE_REPLAYED_DEAD_LETTERS, {"days": settings.dead_letter_days}),
        ("inbound_event", PRUNE_INBOUND_EVENTS, {"days": settings.inbound_event_days}),
        ("api_event_id", PRUNE_API_EVENT_IDS, {"hours": settings.api.event_id_retention_hours}),
    ]
    for name, statement, params in targets:
        deadline = time.monotonic() + budget
        _prune(settings.db_url, name, statement, params, size, deadline, out)
    return out
