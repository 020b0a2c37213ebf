"""What happened to one record: its pending events, its outbox rows, each attempt, dead letters.

``manage.py trace SCHEMA.TABLE KEY`` renders it (``syncsvc.cli.trace``). Every lookup goes
through an index: the outbox rows by (connection, object, record key) for the objects the
table's rules write, the sync log by ``ix_sync_log_record``, dead letters by
``ix_dead_letter_record``; only the pending events are read by table and key from
``sync_event``, which holds what is in flight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from syncsvc.capture.tables import primary_key_columns, split_table_name
from syncsvc.db import Row
from syncsvc.errors import ConfigError
from syncsvc.links import store as link_store
from syncsvc.outbox import synclog
from syncsvc.pipeline.batch import record_key

KEY_COLUMNS = "SELECT key_columns FROM syncsvc.captured_table WHERE table_name = %(table)s"

PENDING_EVENTS = """
SELECT id, op, created_at, dispatched_at, attempts, targets FROM syncsvc.sync_event
WHERE table_name = %(table)s AND pk = %(pk)s
ORDER BY id LIMIT %(limit)s
"""

# The outbox rows of the record: one per (connection, object) a rule on the table writes to.
OUTBOX_ROWS = """
SELECT o.id, o.connection_id, c.name AS connection, c.provider, o.object, o.op, o.version,
       o.delivered_version, o.status, o.attempts, o.next_attempt_at, o.external_id,
       o.last_error, o.updated_at
FROM (SELECT DISTINCT connection_id, target_object FROM syncsvc.sync_rule
      WHERE source_table = %(table)s) AS r
JOIN syncsvc.outbox o ON o.connection_id = r.connection_id AND o.object = r.target_object
                     AND o.record_key = %(key)s AND o.source_table = %(table)s
JOIN syncsvc.connection c ON c.id = o.connection_id
ORDER BY c.name, o.object
"""

DEAD_LETTERS = """
SELECT d.id, c.name AS connection, d.object, d.op, d.stage, d.field, d.reason, d.version,
       d.created_at, d.replayed_at
FROM syncsvc.dead_letter d LEFT JOIN syncsvc.connection c ON c.id = d.connection_id
WHERE d.source_table = %(table)s AND d.record_key = %(key)s
ORDER BY d.id DESC LIMIT %(limit)s
"""


@dataclass
class RecordTrace:
    table: str
    key: dict[str, Any]
    record_key: str
    events: list[Row] = field(default_factory=list)
    """Captured changes not yet persisted for every connection (in flight)."""
    outbox: list[Row] = field(default_factory=list)
    """One row per connection and object, each with its ``log`` (newest attempt first) and its
    ``links`` (the parent it is linked to or waits for, per association)."""
    dead_letters: list[Row] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": self.key,
            "record_key": self.record_key,
            "events": self.events,
            "outbox": self.outbox,
            "dead_letters": self.dead_letters,
        }


def _key_columns(db: psycopg.Connection[Row], table: str) -> list[str]:
    row = db.execute(KEY_COLUMNS, {"table": table}).fetchone()
    if row is not None:
        return list(row["key_columns"])
    return primary_key_columns(db, table)  # not captured (any more): the catalog's key


def parse_key(text: str, columns: list[str], table: str) -> dict[str, str]:
    """``col=value,…`` (every key column once), or the bare value for a one-column key."""
    if "=" not in text:
        if len(columns) != 1:
            example = ",".join(f"{c}=…" for c in columns)
            raise ConfigError(f"{table} has a composite key: give it as {example}")
        return {columns[0]: text}
    parts: dict[str, str] = {}
    for pair in text.split(","):
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"malformed key {text!r}: expected col=value,… ")
        if name not in columns:
            raise ConfigError(f"{name!r} is not a key column of {table} (its key: {columns})")
        if name in parts:
            raise ConfigError(f"key column {name!r} given twice")
        parts[name] = value
    missing = [c for c in columns if c not in parts]
    if missing:
        raise ConfigError(f"key of {table} misses {missing} (its key: {columns})")
    return parts


def typed_key(db: psycopg.Connection[Row], table: str, parts: dict[str, str]) -> dict[str, Any]:
    """The key with each value in its column's type, as the capture trigger writes it."""
    schema, name = split_table_name(table)
    query = sql.SQL("SELECT to_jsonb(r) AS row FROM jsonb_populate_record(NULL::{}, %(v)s) r")
    try:
        with db.transaction():
            row = db.execute(
                query.format(sql.Identifier(schema, name)), {"v": Jsonb(parts)}
            ).fetchone()
    except psycopg.errors.DataError as exc:
        raise ConfigError(f"malformed key for {table}: {exc.diag.message_primary}") from None
    assert row is not None
    return {c: row["row"][c] for c in parts}


def _scrubbed(rows: list[Row], *names: str) -> list[Row]:
    for r in rows:
        for n in names:
            if isinstance(r.get(n), str):
                r[n] = synclog.clip(r[n])
    return rows


def trace(db: psycopg.Connection[Row], table: str, key_text: str, limit: int = 50) -> RecordTrace:
    """The record's history; ``limit`` caps the attempts per outbox row, events and letters."""
    schema, name = split_table_name(table)
    table = f"{schema}.{name}"
    columns = _key_columns(db, table)
    pk = typed_key(db, table, parse_key(key_text, columns, table))
    key = record_key(pk)
    out = RecordTrace(table=table, key=pk, record_key=key)
    out.events = db.execute(
        PENDING_EVENTS, {"table": table, "pk": Jsonb(pk), "limit": limit}
    ).fetchall()
    out.outbox = _scrubbed(
        db.execute(OUTBOX_ROWS, {"table": table, "key": key}).fetchall(), "last_error"
    )
    for row in out.outbox:
        row["links"] = _scrubbed(
            link_store.of_child(db, row["connection_id"], row["object"], key), "last_error"
        )
        row["log"] = _scrubbed(
            synclog.history(db, row["connection_id"], key, limit, obj=row["object"]),
            "error_message",
        )
    out.dead_letters = _scrubbed(
        db.execute(DEAD_LETTERS, {"table": table, "key": key, "limit": limit}).fetchall(),
        "reason",
    )
    return out
