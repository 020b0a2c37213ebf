"""The poll feed: a connection's outbox in commit order, with a cursor that never skips.

Enforces I-6 (poll cursors never skip). Every new version of an outbox row gets the writing
transaction's id (``change_tx``) and a fresh ``change_seq`` (``syncsvc.outbox.versions.upsert``).
A page holds only rows whose transaction is older than the oldest one still running
(``pg_snapshot_xmin``): every such transaction has finished, so no row can still appear at or
before the page's last position — any later write gets a transaction id at or above that
horizon. The price: a long-running transaction anywhere on the server holds the feed back (it
waits, it never skips).

Delivery state lives in the database: ``poll_cursor`` holds the acknowledged position per
connection, and an ack marks the rows up to it delivered. A request without a cursor, or with
one at or before the acknowledged position, starts from the acknowledged position, so
unacknowledged changes are served again and acknowledged ones never are.

Mode ``both``: a version goes out through exactly one channel. The feed claims a row version
(``poll_version = version``) only if no push ever touched that version (no lease, no failed
attempt, not delivered); the push lease skips claimed versions (``syncsvc.outbox.lease``).
Claimed, unacknowledged versions are the poller's: they are served again to it, and never
pushed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg

from syncsvc.api.cursor import START, Position
from syncsvc.db import Row

T = TypeVar("T")

# Mode 'poll': nobody else delivers, so serving is a read. The horizon is an InitPlan, read
# from the statement's own snapshot, and an index condition on (connection_id, change_tx, ...).
PAGE = """
SELECT o.id, o.change_tx::text AS tx, o.change_seq AS seq, o.object, o.record_key, o.op,
       o.payload, o.version, o.source_table, o.id_property, o.id_value,
       (o.status = 'pending') AS serve
FROM syncsvc.outbox o
WHERE o.connection_id = %(cid)s
  AND (o.change_tx, o.change_seq) > (%(tx)s::text::xid8, %(seq)s::bigint)
  AND o.change_tx < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
ORDER BY o.change_tx, o.change_seq
LIMIT %(limit)s
"""

# Mode 'both': claim what no push has touched, locking in key order (the order persist locks
# in). FOR UPDATE re-checks a row that changed meanwhile: a new version has left the page.
CLAIM_PAGE = """
WITH scan AS (
    SELECT o.id, o.change_tx, o.change_seq, o.object, o.record_key, o.op, o.payload,
           o.version, o.source_table, o.id_property, o.id_value, o.status, o.poll_version
    FROM syncsvc.outbox o
    WHERE o.connection_id = %(cid)s
      AND (o.change_tx, o.change_seq) > (%(tx)s::text::xid8, %(seq)s::bigint)
      AND o.change_tx < (SELECT pg_snapshot_xmin(pg_current_snapshot()))
    ORDER BY o.change_tx, o.change_seq
    LIMIT %(limit)s
), lockable AS (
    SELECT o.id FROM syncsvc.outbox o JOIN scan s ON s.id = o.id
    WHERE o.change_tx = s.change_tx AND o.change_seq = s.change_seq
      AND o.status = 'pending' AND o.poll_version IS DISTINCT FROM o.version
      AND o.lease_token IS NULL AND o.attempts = 0
    ORDER BY o.object, o.record_key
    FOR UPDATE OF o
), claimed AS (
    UPDATE syncsvc.outbox o SET poll_version = o.version
    FROM lockable l WHERE o.id = l.id
    RETURNING o.id
)
SELECT s.id, s.change_tx::text AS tx, s.change_seq AS seq, s.object, s.record_key, s.op,
       s.payload, s.version, s.source_table, s.id_property, s.id_value,
       (c.id IS NOT NULL OR (s.status = 'pending' AND s.poll_version = s.version)) AS serve
FROM scan s LEFT JOIN claimed c ON c.id = s.id
ORDER BY s.change_tx, s.change_seq
"""

ENSURE_CURSOR = """
INSERT INTO syncsvc.poll_cursor (connection_id, tx, seq) VALUES (%(cid)s, '0'::text::xid8, 0)
ON CONFLICT (connection_id) DO NOTHING
"""
READ_CURSOR = """
SELECT tx::text AS tx, seq, acked_at FROM syncsvc.poll_cursor WHERE connection_id = %(cid)s
"""
LOCK_CURSOR = READ_CURSOR.strip() + " FOR UPDATE"
MOVE_CURSOR = """
UPDATE syncsvc.poll_cursor SET tx = %(tx)s::text::xid8, seq = %(seq)s, acked_at = now()
WHERE connection_id = %(cid)s
"""

# Rows in (acknowledged, new] hold the version that was served: a newer version would have a
# newer transaction id, past the new position. In mode 'both' only the feed's own claims count.
MARK_DELIVERED = """
WITH target AS (
    SELECT o.id FROM syncsvc.outbox o
    WHERE o.connection_id = %(cid)s
      AND (o.change_tx, o.change_seq) > (%(old_tx)s::text::xid8, %(old_seq)s::bigint)
      AND (o.change_tx, o.change_seq) <= (%(tx)s::text::xid8, %(seq)s::bigint)
      AND o.status = 'pending'
      AND (%(poll_only)s OR o.poll_version = o.version)
    ORDER BY o.object, o.record_key
    FOR UPDATE OF o
), done AS (
    UPDATE syncsvc.outbox o SET
        status = 'delivered', delivered_version = o.version,
        delivered_payload = COALESCE(o.delivered_payload, '{}'::jsonb) || o.payload,
        attempts = 0, last_error = NULL, updated_at = now()
    FROM target t WHERE o.id = t.id
    RETURNING 1
)
SELECT count(*) AS n FROM done
"""

DEADLOCK_RETRIES = 3


@dataclass(frozen=True)
class Change:
    object: str
    record_key: str
    op: str
    payload: dict[str, Any]
    version: int
    source_table: str
    id_property: str | None
    id_value: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "record_key": self.record_key,
            "op": self.op,
            "payload": self.payload,
            "version": self.version,
            "source_table": self.source_table,
            "id_property": self.id_property,
            "id_value": self.id_value,
        }


@dataclass(frozen=True)
class Page:
    changes: list[Change]
    next_position: Position
    has_more: bool


@dataclass(frozen=True)
class Ack:
    position: Position
    delivered: int


def _retry(db: psycopg.Connection[Row], work: Callable[[], T]) -> T:
    """Run ``work`` in a transaction; a deadlock victim tries again (mode 'both' locks rows)."""
    for attempt in range(DEADLOCK_RETRIES):
        try:
            with db.transaction():
                return work()
        except psycopg.errors.TransactionRollback:
            if attempt == DEADLOCK_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def acked_position(db: psycopg.Connection[Row], connection_id: int) -> Position:
    row = db.execute(READ_CURSOR, {"cid": connection_id}).fetchone()
    return START if row is None else Position(int(row["tx"]), int(row["seq"]))


def read_page(
    db: psycopg.Connection[Row],
    connection_id: int,
    mode: str,
    after: Position | None,
    limit: int,
) -> Page:
    """The next page after ``after`` (never before the acknowledged position)."""

    def work() -> Page:
        acked = acked_position(db, connection_id)
        start = acked if after is None or after < acked else after
        query = CLAIM_PAGE if mode == "both" else PAGE
        rows = db.execute(
            query, {"cid": connection_id, "tx": str(start.tx), "seq": start.seq, "limit": limit}
        ).fetchall()
        changes = [_change(r) for r in rows if r["serve"]]
        last = Position(int(rows[-1]["tx"]), int(rows[-1]["seq"])) if rows else start
        return Page(changes, last, has_more=len(rows) == limit)

    return _retry(db, work)


def acknowledge(
    db: psycopg.Connection[Row], connection_id: int, mode: str, position: Position
) -> Ack:
    """Mark everything up to ``position`` delivered; idempotent, never moves backwards."""

    def work() -> Ack:
        db.execute(ENSURE_CURSOR, {"cid": connection_id})
        row = db.execute(LOCK_CURSOR, {"cid": connection_id}).fetchone()
        assert row is not None
        old = Position(int(row["tx"]), int(row["seq"]))
        if position <= old:
            return Ack(old, 0)
        done = db.execute(
            MARK_DELIVERED,
            {
                "cid": connection_id,
                "old_tx": str(old.tx),
                "old_seq": old.seq,
                "tx": str(position.tx),
                "seq": position.seq,
                "poll_only": mode != "both",
            },
        ).fetchone()
        db.execute(MOVE_CURSOR, {"cid": connection_id, "tx": str(position.tx), "seq": position.seq})
        return Ack(position, int(done["n"]) if done else 0)

    return _retry(db, work)


def _change(row: Row) -> Change:
    return Change(
        object=row["object"],
        record_key=row["record_key"],
        op=row["op"],
        payload=row["payload"],
        version=int(row["version"]),
        source_table=row["source_table"],
        id_property=row["id_property"],
        id_value=row["id_value"],
    )
