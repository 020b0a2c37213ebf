"""A row's version: persist writes a newer one, a push settles the one it leased, a replay resends.

Enforces I-2 (no stale overwrite) wherever a version is written or a push settles one (what a
poller gets, in which order, is the feed's: I-6, ``syncsvc.outbox.feed``):

- ``upsert`` only moves ``version`` forward: an older or equal version changes nothing, and of
  several items of one record in a batch the highest version wins. A new version makes the row
  pending and due now (attempts 0) and gives it a new feed position (``change_tx``,
  ``change_seq``, read by ``syncsvc.outbox.feed``).
- ``record_delivered`` and ``mark_dead`` settle only the version the push leased, and only while
  it still holds the lease (``lease_token``): a row whose version moved on during the push stays
  pending and goes again, and a push whose lease expired and was taken over records nothing.
- ``resend_dead`` sends a dead row again as it is now: the newest state of its record.

``upsert`` leaves ``maybe_sent`` and ``external_id`` alone: what an earlier push may have left
at the CRM outlives new versions (I-3, ``syncsvc.outbox.lease``).
"""

from __future__ import annotations

from typing import Any, TypedDict

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.pipeline.batch import OutboxItem

# Rows are written in key order so concurrent batches lock them in the same order (no deadlock).
# ``version`` only moves forward (I-2): an older or equal version changes nothing.
# ``changed_at`` is when the change was captured (the event whose id is the version; a version
# not from an event, now): ``last_write_wins`` compares it. A backfill changes no row: a row it
# sends again keeps the time of its last known change.
UPSERT_OUTBOX = """
INSERT INTO syncsvc.outbox AS o
    (connection_id, object, record_key, source_table, op, id_property, id_value, payload, version,
     backfill_id, changed_at)
SELECT %(connection_id)s, i.object, i.record_key, i.source_table, i.op, i.id_property, i.id_value,
       i.payload, i.version, %(backfill_id)s,
       COALESCE((SELECT e.created_at FROM syncsvc.sync_event e WHERE e.id = i.version), now())
FROM jsonb_to_recordset(%(items)s) AS i(object text, record_key text, source_table text, op text,
                                        id_property text, id_value text, payload jsonb,
                                        version bigint)
ORDER BY i.object, i.record_key
ON CONFLICT (connection_id, object, record_key) DO UPDATE SET
    op = EXCLUDED.op,
    payload = EXCLUDED.payload,
    version = EXCLUDED.version,
    changed_at = CASE WHEN EXCLUDED.backfill_id IS NULL THEN EXCLUDED.changed_at
                      ELSE COALESCE(o.changed_at, EXCLUDED.changed_at) END,
    source_table = EXCLUDED.source_table,
    id_property = EXCLUDED.id_property,
    id_value = COALESCE(EXCLUDED.id_value, o.id_value),
    status = 'pending',
    attempts = 0,
    next_attempt_at = now(),
    last_error = NULL,
    change_tx = pg_current_xact_id(),
    change_seq = nextval('syncsvc.outbox_change_seq'),
    backfill_id = EXCLUDED.backfill_id,
    updated_at = now()
WHERE o.version < EXCLUDED.version
RETURNING o.id, o.object, o.op
"""

# A row whose version moved on while it was being pushed stays pending and goes again (I-2).
# ``delivered_payload`` keeps, per field, the value we last delivered there: a field this payload
# leaves out (``on_null: skip``, or a value the CRM won before the push: ``syncsvc.push.guard``)
# still holds what was delivered before, and that is what the inbound path compares.
RECORD_DELIVERED = """
UPDATE syncsvc.outbox AS o SET
    delivered_version = r.version,
    delivered_payload = COALESCE(o.delivered_payload, '{}'::jsonb) || r.payload,
    external_id = COALESCE(r.external_id, o.external_id),
    status = CASE WHEN o.version = r.version THEN 'delivered' ELSE 'pending' END,
    attempts = 0, next_attempt_at = now(), last_error = NULL,
    lease_until = NULL, lease_token = NULL, updated_at = now()
FROM jsonb_to_recordset(%(results)s) AS r(id bigint, version bigint, external_id text,
                                           payload jsonb)
WHERE o.id = r.id AND o.lease_token = %(token)s
RETURNING o.id, o.object, o.op, o.status
"""

# The failed version goes to dead_letter; the row is dead only if that is still its version.
MARK_DEAD = """
WITH dead AS (
    UPDATE syncsvc.outbox AS o SET
        status = CASE WHEN o.version = r.version THEN 'dead' ELSE 'pending' END,
        last_error = r.reason, lease_until = NULL, lease_token = NULL, updated_at = now(),
        attempts = 0, next_attempt_at = now()
    FROM jsonb_to_recordset(%(rows)s) AS r(id bigint, version bigint, reason text, field text)
    WHERE o.id = r.id AND o.lease_token = %(token)s
    RETURNING o.*, r.reason, r.field, r.version AS failed_version
)
INSERT INTO syncsvc.dead_letter
    (connection_id, source_table, record_key, op, object, stage, field, reason, event, version,
     backfill_id)
SELECT connection_id, source_table, record_key, op, object, 'push', field, reason,
       jsonb_build_object('outbox_id', id, 'payload', payload, 'id_property', id_property,
                          'id_value', id_value, 'external_id', external_id),
       failed_version, backfill_id
FROM dead
"""

NEWEST_ROW = """
SELECT o.id, o.version, o.status FROM syncsvc.outbox o
WHERE o.connection_id = %(connection_id)s AND o.record_key = %(record_key)s
  AND (%(object)s::text IS NULL OR o.object = %(object)s)
ORDER BY o.version DESC LIMIT 1
"""

# Due an hour back, past the sweeper's grace period: the sweeper sends it (a replay orders no push).
RESEND_DEAD = """
UPDATE syncsvc.outbox SET status = 'pending', attempts = 0, last_error = NULL,
       next_attempt_at = now() - interval '1 hour', lease_until = NULL, lease_token = NULL
WHERE id = %(id)s AND status = 'dead'
"""


class Delivered(TypedDict):
    """A row the CRM took: the version that was sent, what it said (kept as the row's
    ``delivered_payload``: the inbound path recognises our own values coming back by it), and
    the CRM's id for the record."""

    id: int
    version: int
    external_id: str | None
    payload: dict[str, Any]


class Dead(TypedDict):
    """A row that failed for good: the version that was sent, and why (``field`` if known)."""

    id: int
    version: int
    reason: str
    field: str | None


def _latest_per_record(items: list[OutboxItem]) -> list[OutboxItem]:
    """One item per (object, record key): the highest version wins."""
    latest: dict[tuple[str, str], OutboxItem] = {}
    for item in items:
        key = (item["object"], item["record_key"])
        if key not in latest or latest[key]["version"] < item["version"]:
            latest[key] = item
    return list(latest.values())


def upsert(
    db: psycopg.Connection[Row],
    connection_id: int,
    items: list[OutboxItem],
    backfill_id: int | None = None,
) -> list[Row]:
    """Write the items' versions where they are newer; returns the rows that took one.

    Each returned row (``id``, ``object``, ``op``) is pending and due now, tagged with
    ``backfill_id`` (a live version clears the tag: the row then pushes as live traffic).
    """
    latest = _latest_per_record(items)
    if not latest:
        return []
    params = {"connection_id": connection_id, "items": Jsonb(latest), "backfill_id": backfill_id}
    return db.execute(UPSERT_OUTBOX, params).fetchall()


def record_delivered(
    db: psycopg.Connection[Row], token: int, results: list[Delivered]
) -> list[Row]:
    """Settle delivered rows still leased with ``token``; returns ``id``, ``object``, ``op`` and
    ``status`` of each (``pending`` when a newer version came meanwhile: it must go again)."""
    return db.execute(RECORD_DELIVERED, {"results": Jsonb(results), "token": token}).fetchall()


def mark_dead(db: psycopg.Connection[Row], token: int, rows: list[Dead]) -> None:
    """Dead-letter the failed versions of rows still leased with ``token``."""
    db.execute(MARK_DEAD, {"rows": Jsonb(rows), "token": token})


def newest_row(
    db: psycopg.Connection[Row], connection_id: int, record_key: str, obj: str | None
) -> Row | None:
    """The record's row with the highest version (``id``, ``version``, ``status``), if any;
    ``obj`` None matches any object."""
    return db.execute(
        NEWEST_ROW, {"connection_id": connection_id, "record_key": record_key, "object": obj}
    ).fetchone()


def resend_dead(db: psycopg.Connection[Row], outbox_id: int) -> None:
    """Make a dead row pending again (a row that is not dead is left alone)."""
    db.execute(RESEND_DEAD, {"id": outbox_id})
