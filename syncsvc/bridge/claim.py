"""Claim committed events, coalesce them per record and group them into batches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from syncsvc.config.runtime import RuntimeConfig
from syncsvc.db import Row
from syncsvc.pipeline.batch import Batch, EventRecord, record_key

# SKIP LOCKED: two bridges never claim the same event, and we keep no "last id" cursor, so an
# event with a lower id that commits later is still claimed (a cursor would have skipped it).
# Live events are claimed before a backfill's: a backfill's pages wait in ``sync_event``
# (bounded by its backlog), live changes do not wait behind them.
CLAIM_NEW_LIVE = """
SELECT id, table_name, op, pk, row, targets, origin, backfill_id FROM syncsvc.sync_event
WHERE dispatched_at IS NULL AND backfill_id IS NULL
ORDER BY id LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""
CLAIM_NEW_BACKFILL = """
SELECT id, table_name, op, pk, row, targets, origin, backfill_id FROM syncsvc.sync_event
WHERE dispatched_at IS NULL AND backfill_id IS NOT NULL
ORDER BY id LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""
CLAIM_STALE = """
SELECT id, table_name, op, pk, row, targets, origin, backfill_id FROM syncsvc.sync_event
WHERE dispatched_at < now() - make_interval(secs => %(timeout)s)
  AND (NOT %(live_only)s OR backfill_id IS NULL)
ORDER BY id LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""
MARK_DISPATCHED = """
UPDATE syncsvc.sync_event
SET dispatched_at = now(), attempts = LEAST(attempts + 1, 32767), targets = %(targets)s
WHERE id = ANY(%(ids)s)
"""
DELETE_UNTARGETED = "DELETE FROM syncsvc.sync_event WHERE id = ANY(%(ids)s)"
IN_FLIGHT = """
SELECT count(*) AS n FROM (
    SELECT 1 FROM syncsvc.sync_event WHERE dispatched_at IS NOT NULL LIMIT %(cap)s
) AS inflight
"""


@dataclass
class Claim:
    """What one claim produced: the batches to enqueue and how to mark the events."""

    batches: list[tuple[str, Batch]] = field(default_factory=list)
    """(provider name, batch) pairs."""
    targets: dict[tuple[int, ...], list[int]] = field(default_factory=dict)
    """Event ids by the connections they were dispatched to."""
    untargeted: list[int] = field(default_factory=list)
    captured: dict[int, int] = field(default_factory=dict)
    events: int = 0


def claim_events(
    db: psycopg.Connection[Row], limit: int, stale_after: int | None, live_only: bool = False
) -> list[Row]:
    """Up to ``limit`` events: new ones, live before backfill, or those dispatched more than
    ``stale_after`` seconds ago; ``live_only``: no backfill events."""
    if stale_after is not None:
        params = {"limit": limit, "timeout": stale_after, "live_only": live_only}
        return db.execute(CLAIM_STALE, params).fetchall()
    events = db.execute(CLAIM_NEW_LIVE, {"limit": limit}).fetchall()
    if live_only or len(events) >= limit:
        return events
    return events + db.execute(CLAIM_NEW_BACKFILL, {"limit": limit - len(events)}).fetchall()


def in_flight(db: psycopg.Connection[Row], cap: int) -> int:
    row = db.execute(IN_FLIGHT, {"cap": cap}).fetchone()
    return int(row["n"]) if row else 0


def _targets(event: Row, config: RuntimeConfig) -> tuple[int, ...]:
    current = config.targets_for(event["table_name"], event["op"], event.get("origin"))
    if event["targets"] is not None:  # a re-dispatch goes only where it has not been persisted
        return tuple(sorted(set(event["targets"]) & set(current)))
    return tuple(sorted(current))


def plan(events: Iterable[Row], config: RuntimeConfig, batch_size: int) -> Claim:
    """Group events per (connection, table, backfill), keep each record's latest change, cut
    batches. A backfill's events travel in batches of their own, tagged with its id; a record
    with both a live and a backfill event in one claim goes in both, and the outbox keeps the
    higher version."""
    claim = Claim()
    buckets: dict[tuple[int, str, int | None], dict[str, tuple[EventRecord, list[int]]]] = {}
    for event in events:
        claim.events += 1
        targets = _targets(event, config)
        if not targets:
            claim.untargeted.append(event["id"])
            continue
        claim.targets.setdefault(targets, []).append(event["id"])
        key = record_key(event["pk"])
        for connection_id in targets:
            bucket = (connection_id, event["table_name"], event.get("backfill_id"))
            per_record = buckets.setdefault(bucket, {})
            previous = per_record.get(key)
            ids = previous[1] if previous else []
            ids.append(event["id"])
            if previous is None or previous[0]["version"] < event["id"]:
                record: EventRecord = {"pk": event["pk"], "op": event["op"], "version": event["id"]}
                if event["row"] is not None:
                    record["row"] = event["row"]
                per_record[key] = (record, ids)
            if event["targets"] is None:
                claim.captured[connection_id] = claim.captured.get(connection_id, 0) + 1
    for (connection_id, table, backfill_id), per_record in buckets.items():
        provider = config.connections[connection_id].provider.name
        entries = list(per_record.values())
        for start in range(0, len(entries), batch_size):
            part = entries[start : start + batch_size]
            batch = Batch(
                connection_id=connection_id,
                table=table,
                event_ids=[i for _, ids in part for i in ids],
                records=[r for r, _ in part],
            )
            if backfill_id is not None:
                batch["backfill_id"] = backfill_id
            claim.batches.append((provider, batch))
    return claim


def mark(db: psycopg.Connection[Row], claim: Claim) -> None:
    for targets, ids in claim.targets.items():
        db.execute(MARK_DISPATCHED, {"ids": ids, "targets": list(targets)})
    if claim.untargeted:
        db.execute(DELETE_UNTARGETED, {"ids": claim.untargeted})


def describe(claim: Claim) -> dict[str, Any]:
    return {"events": claim.events, "batches": len(claim.batches), "dropped": len(claim.untargeted)}
