"""Stage 3: one transaction writes the outbox, the dead letters and marks the events done."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.pipeline.batch import Batch, OutboxItem, PushGroup

# Rows are written in key order so concurrent batches lock them in the same order (no deadlock).
# ``version`` only moves forward (I-2): an older or equal version changes nothing.
UPSERT_OUTBOX = """
INSERT INTO syncsvc.outbox AS o
    (connection_id, object, record_key, source_table, op, id_property, id_value, payload, version)
SELECT %(connection_id)s, i.object, i.record_key, i.source_table, i.op, i.id_property, i.id_value,
       i.payload, i.version
FROM jsonb_to_recordset(%(items)s) AS i(object text, record_key text, source_table text, op text,
                                        id_property text, id_value text, payload jsonb,
                                        version bigint)
ORDER BY i.object, i.record_key
ON CONFLICT (connection_id, object, record_key) DO UPDATE SET
    op = EXCLUDED.op,
    payload = EXCLUDED.payload,
    version = EXCLUDED.version,
    source_table = EXCLUDED.source_table,
    id_property = EXCLUDED.id_property,
    id_value = COALESCE(EXCLUDED.id_value, o.id_value),
    status = 'pending',
    attempts = 0,
    next_attempt_at = now(),
    last_error = NULL,
    change_tx = pg_current_xact_id(),
    change_seq = nextval('syncsvc.outbox_change_seq'),
    updated_at = now()
WHERE o.version < EXCLUDED.version
RETURNING o.id, o.object, o.op
"""

INSERT_DEAD_LETTERS = """
INSERT INTO syncsvc.dead_letter
    (connection_id, source_table, record_key, op, object, stage, field, reason, event, version)
SELECT %(connection_id)s, %(table)s, d.record_key, d.op, d.object, d.stage, d.field, d.reason,
       d.event, d.version
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


def _latest_per_record(items: list[OutboxItem]) -> list[OutboxItem]:
    """One item per (object, record key): the highest version wins."""
    latest: dict[tuple[str, str], OutboxItem] = {}
    for item in items:
        key = (item["object"], item["record_key"])
        if key not in latest or latest[key]["version"] < item["version"]:
            latest[key] = item
    return list(latest.values())


def mark_events_done(db: psycopg.Connection[Row], connection_id: int, event_ids: list[int]) -> None:
    if not event_ids:
        return
    params = {"ids": event_ids, "connection_id": connection_id}
    db.execute(DELETE_SOLE_TARGET_EVENTS, params)
    finished = [r["id"] for r in db.execute(REMOVE_TARGET, params) if r["finished"]]
    if finished:
        db.execute(DELETE_EVENTS, {"ids": finished})


def persist_batch(db: psycopg.Connection[Row], batch: Batch) -> list[PushGroup]:
    """Write the batch in the caller's transaction; returns the outbox rows that need a push."""
    connection_id = batch["connection_id"]
    items = _latest_per_record(batch.get("items", []))
    groups: dict[tuple[str, str], list[int]] = {}
    if items:
        rows = db.execute(
            UPSERT_OUTBOX, {"connection_id": connection_id, "items": Jsonb(items)}
        ).fetchall()
        for r in rows:
            groups.setdefault((r["object"], r["op"]), []).append(r["id"])
    rejects = batch.get("rejects", [])
    if rejects:
        db.execute(
            INSERT_DEAD_LETTERS,
            {"connection_id": connection_id, "table": batch["table"], "rejects": Jsonb(rejects)},
        )
    mark_events_done(db, connection_id, batch["event_ids"])
    return [PushGroup(object=o, op=op, ids=sorted(ids)) for (o, op), ids in groups.items()]
