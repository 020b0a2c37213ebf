"""Dead letters: find them, and replay them through the current config once the cause is fixed.

A replay never sends older data over newer: when the record has moved on since the dead letter
(a higher outbox version exists), the dead letter is only marked as superseded. Otherwise the
record goes through the whole chain again from a new event targeted at its connection, so the
current schemas, mappings and rules apply; for a captured table the current row is read (the
newest state). Records whose source is not a table (ingested with ``POST /v1/events``) replay
their stored row, or for a push failure their stored payload.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.outbox import versions

_MATCHING = """
FROM syncsvc.dead_letter d LEFT JOIN syncsvc.connection c ON c.id = d.connection_id
WHERE (%(connection)s::text IS NULL OR c.name = %(connection)s)
  AND (%(stage)s::text IS NULL OR d.stage = %(stage)s)
  AND (%(since)s::timestamptz IS NULL OR d.created_at >= %(since)s)
  AND (%(ids)s::bigint[] IS NULL OR d.id = ANY(%(ids)s))
  AND (%(include_replayed)s OR d.replayed_at IS NULL)
ORDER BY d.id
LIMIT %(limit)s
"""
LIST = (
    "SELECT d.id, c.name AS connection, d.source_table, d.record_key, d.op, d.object, d.stage, "
    "d.field, d.reason, d.version, d.created_at, d.replayed_at" + _MATCHING
)
FOR_REPLAY = "SELECT d.*, c.name AS connection" + _MATCHING + " FOR UPDATE OF d"

NEW_EVENT = """
INSERT INTO syncsvc.sync_event (table_name, op, pk, row, targets)
VALUES (%(table)s, %(op)s, %(pk)s, %(row)s, ARRAY[%(connection_id)s]::integer[])
"""

MARK_REPLAYED = "UPDATE syncsvc.dead_letter SET replayed_at = now() WHERE id = %(id)s"


@dataclass(frozen=True)
class Filters:
    connection: str | None = None
    stage: str | None = None
    since: dt.datetime | None = None
    ids: list[int] | None = None
    include_replayed: bool = False
    limit: int = 1000

    def params(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReplayReport:
    requeued: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    superseded: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def list_dead_letters(db: psycopg.Connection[Row], filters: Filters) -> list[Row]:
    return db.execute(LIST, filters.params()).fetchall()


def get_dead_letter(db: psycopg.Connection[Row], letter_id: int) -> Row | None:
    return db.execute(
        "SELECT d.*, c.name AS connection FROM syncsvc.dead_letter d "
        "LEFT JOIN syncsvc.connection c ON c.id = d.connection_id WHERE d.id = %s",
        (letter_id,),
    ).fetchone()


def _key_columns(db: psycopg.Connection[Row], table: str) -> list[str] | None:
    """The key columns of a captured table; None for a source that is not a captured table."""
    row = db.execute(
        "SELECT key_columns FROM syncsvc.captured_table WHERE table_name = %s", (table,)
    ).fetchone()
    return list(row["key_columns"]) if row else None


def _pk(letter: Row, key_columns: list[str] | None) -> dict[str, Any] | None:
    """The record's key: from the dead letter's event, else rebuilt from its record key."""
    pk = (letter["event"] or {}).get("pk")
    if isinstance(pk, dict) and pk:
        return pk
    if key_columns is None:
        return None
    if len(key_columns) == 1:
        return {key_columns[0]: letter["record_key"]}
    try:
        decoded = json.loads(letter["record_key"])
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def replay(db: psycopg.Connection[Row], filters: Filters) -> ReplayReport:
    """Replay the matching, not yet replayed dead letters (in the caller's transaction)."""
    report = ReplayReport()
    letters = db.execute(FOR_REPLAY, filters.params() | {"include_replayed": False}).fetchall()
    tables: set[str] = set()
    for letter in letters:
        if letter["connection_id"] is None:
            report.skipped.append((letter["id"], "its connection was deleted"))
            continue
        newest = versions.newest_row(
            db, letter["connection_id"], letter["record_key"], letter["object"]
        )
        key_columns = _key_columns(db, letter["source_table"])
        captured = key_columns is not None
        superseded = newest is not None and newest["version"] > letter["version"]
        if superseded and not captured:
            report.superseded.append(letter["id"])
        elif letter["stage"] == "push" and not captured and newest is not None:
            versions.resend_dead(db, newest["id"])
            report.resent.append(letter["id"])
        else:
            pk = _pk(letter, key_columns)
            if pk is None:
                report.skipped.append((letter["id"], "the dead letter has no record key to replay"))
                continue
            op = "D" if letter["op"] in ("D", "archive") else "U"
            row = None if captured else (letter["event"] or {}).get("row")
            db.execute(
                NEW_EVENT,
                {
                    "table": letter["source_table"],
                    "op": op,
                    "pk": Jsonb(pk),
                    "row": Jsonb(row) if row is not None else None,
                    "connection_id": letter["connection_id"],
                },
            )
            tables.add(letter["source_table"])
            report.requeued.append(letter["id"])
        db.execute(MARK_REPLAYED, {"id": letter["id"]})
    for table in tables:
        db.execute("SELECT pg_notify('syncsvc', %s)", (table,))
    return report


def purge(db: psycopg.Connection[Row], before: dt.datetime, connection: str | None = None) -> int:
    cur = db.execute(
        "DELETE FROM syncsvc.dead_letter d USING syncsvc.dead_letter x "
        "LEFT JOIN syncsvc.connection c ON c.id = x.connection_id "
        "WHERE d.id = x.id AND x.created_at < %(before)s "
        "AND (%(connection)s::text IS NULL OR c.name = %(connection)s)",
        {"before": before, "connection": connection},
    )
    return cur.rowcount
