"""The tables an ``inbound:`` section writes, held against the database's catalog at ``config
apply`` (the field spec says what a table should hold; the catalog what it does).

An internal table must exist, be keyed by the key column alone (its primary key: the outbox,
the echo and conflict checks name records by it), have every column written, and a soft-delete
column must be a boolean (set true) or a date or time (set to now()). A composite primary key is
refused: a CRM field holds one key value, and nothing maps it back to several columns (an inbox
table takes such a table's changes; the system that owns it applies them). A key column without
a default is a warning: a record created in the CRM has no key of ours and cannot become a row.

An inbox table must exist with the columns every inbox row is written with
(``syncsvc.inbound.inbox.COLUMNS``; ``fields`` a json or jsonb column).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from syncsvc.capture.tables import split_table_name
from syncsvc.config.model import ConfigDocument
from syncsvc.db import Row
from syncsvc.inbound import inbox
from syncsvc.inbound.model import InboundObject

COLUMNS = """
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
       (a.atthasdef OR a.attidentity <> '') AS has_default, a.attgenerated <> '' AS generated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
PRIMARY_KEY = """
SELECT a.attname AS name
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND i.indisprimary
ORDER BY k.ord
"""
SOFT_DELETE_TYPES = ("boolean", "date", "timestamp without time zone", "timestamp with time zone")


@dataclass
class TableFindings:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Column:
    type: str
    has_default: bool
    generated: bool


def _columns(db: psycopg.Connection[Row], table: str) -> dict[str, _Column]:
    """The table's columns (empty: no such table)."""
    schema, name = split_table_name(table)
    rows = db.execute(COLUMNS, {"schema": schema, "table": name}).fetchall()
    return {r["name"]: _Column(r["type"], r["has_default"], r["generated"]) for r in rows}


def _primary_key(db: psycopg.Connection[Row], table: str) -> list[str]:
    schema, name = split_table_name(table)
    return [r["name"] for r in db.execute(PRIMARY_KEY, {"schema": schema, "table": name})]


def check_document(db: psycopg.Connection[Row], doc: ConfigDocument) -> TableFindings:
    """Every inbound object of every connection of ``doc``, held against the catalog."""
    out = TableFindings()
    for ci, conn in enumerate(doc.connections):
        if conn.inbound is None:
            continue
        for name, obj in conn.inbound.objects.items():
            path = f"{doc.source}: connections[{ci}].inbound.objects.{name}"
            if obj.inbox:
                out.problems += inbox_problems(db, path, obj.inbox)
            else:
                table_findings(db, path, obj, out)
    return out


def inbox_problems(db: psycopg.Connection[Row], path: str, table: str) -> list[str]:
    columns = _columns(db, table)
    wanted = ", ".join(inbox.COLUMNS)
    if not columns:
        return [f"{path}.inbox: table {table} does not exist (it needs the columns {wanted})"]
    missing = [c for c in inbox.COLUMNS if c not in columns]
    if missing:
        return [
            f"{path}.inbox: {table} has no column(s) {', '.join(missing)}: every inbox row is "
            f"written with {wanted}"
        ]
    if columns["fields"].type not in inbox.FIELDS_TYPES:
        return [f"{path}.inbox: {table}.fields is {columns['fields'].type}, not jsonb"]
    return []


def table_findings(
    db: psycopg.Connection[Row], path: str, obj: InboundObject, out: TableFindings
) -> None:
    table = obj.table
    columns = _columns(db, table)
    if not columns:
        out.problems.append(f"{path}.table: table {table} does not exist")
        return
    key = _primary_key(db, table)
    if len(key) > 1:
        out.problems.append(
            f"{path}.key.column: {table} has a composite primary key ({', '.join(key)}); "
            "inbound writes need a table keyed by one column (use inbox: SCHEMA.TABLE to "
            "receive its changes and apply them yourself)"
        )
    elif key != [obj.key_column]:
        found = f"its primary key is {key[0]!r}" if key else "it has no primary key"
        out.problems.append(
            f"{path}.key.column: {obj.key_column!r} must be {table}'s primary key; {found}"
        )
    written = [
        (f"{path}.mappings[{i}].target", str(m["target"])) for i, m in enumerate(obj.mappings)
    ]
    for at, column in [(f"{path}.key.column", obj.key_column), *written]:
        if column not in columns:
            out.problems.append(f"{at}: {table} has no column {column!r}")
        elif columns[column].generated:
            out.problems.append(f"{at}: {table}.{column} is a generated column")
    if obj.soft_delete_column:
        at, soft = f"{path}.on_delete.soft_delete", obj.soft_delete_column
        if soft not in columns:
            out.problems.append(f"{at}: {table} has no column {soft!r}")
        elif columns[soft].type not in SOFT_DELETE_TYPES:
            out.problems.append(
                f"{at}: {table}.{soft} is {columns[soft].type}; a soft-delete column is a "
                "boolean (set true) or a date or timestamp (set to now())"
            )
    key_column = columns.get(obj.key_column)
    if key == [obj.key_column] and key_column is not None and not key_column.has_default:
        out.warnings.append(
            f"{path}.key.column: {table}.{obj.key_column} has no default: a record created in "
            "the CRM (without our key) cannot become a row"
        )
