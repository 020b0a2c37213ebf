"""Stage 3: one transaction writes the outbox, the dead letters and marks the events done."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.kinds import PushOp
from syncsvc.links import store as link_store
from syncsvc.links.wanted import wanted_links
from syncsvc.outbox import versions
from syncsvc.pipeline.batch import MappedBatch, PushGroup

INSERT_DEAD_LETTERS = """
INSERT INTO syncsvc.dead_letter
    (connection_id, source_table, record_key, op, object, stage, field, reason, event, version,
     backfill_id)
SELECT %(connection_id)s, %(table)s, d.record_key, d.op, d.object, d.stage, d.field, d.reason,
       d.event, d.version, %(backfill_id)s
FROM jsonb_to_recordset(%(rejects)s) AS d(record_key text, op text, object text, stage text,
                                          field text, reason text, event jsonb, version bigint)
"""

# An event is done once every connection it was dispatched to has persisted it.
DELETE_SOLE_TARGET_EVENTS = """
DELETE FROM syncsvc.sync_event
WHERE id = ANY(%(ids)s) AND targets = ARRAY[%(connection_id)s]::integer[]
"""
REMOVE_TARGET = """
UPDATE syncsvc.sync_event SET targets = array_remove(targets, %(connection_id)s)
WHERE id = ANY(%(ids)s) AND %(connection_id)s = ANY(targets)
RETURNING id, cardinality(targets) = 0 AS finished
"""
DELETE_EVENTS = "DELETE FROM syncsvc.sync_event WHERE id = ANY(%(ids)s)"


def mark_events_done(db: psycopg.Connection[Row], connection_id: int, event_ids: list[int]) -> None:
    if not event_ids:
        return
    params = {"ids": event_ids, "connection_id": connection_id}
    db.execute(DELETE_SOLE_TARGET_EVENTS, params)
    finished = [r["id"] for r in db.execute(REMOVE_TARGET, params) if r["finished"]]
    if finished:
        db.execute(DELETE_EVENTS, {"ids": finished})


def persist_batch(db: psycopg.Connection[Row], batch: MappedBatch) -> list[PushGroup]:
    """Write the batch in the caller's transaction; returns the outbox rows that need a push."""
    connection_id = batch["connection_id"]
    backfill_id = batch.get("backfill_id")
    groups: dict[tuple[str, PushOp], list[int]] = {}
    items = batch.get("items", [])
    for r in versions.upsert(db, connection_id, items, backfill_id):
        groups.setdefault((r["object"], r["op"]), []).append(r["id"])
    link_store.note(db, connection_id, wanted_links(items))
    rejects = batch.get("rejects", [])
    if rejects:
        db.execute(
            INSERT_DEAD_LETTERS,
            {
                "connection_id": connection_id,
                "table": batch["table"],
                "rejects": Jsonb(rejects),
                "backfill_id": backfill_id,
            },
        )
    mark_events_done(db, connection_id, batch["event_ids"])
    return [PushGroup(object=o, op=op, ids=sorted(ids)) for (o, op), ids in groups.items()]
