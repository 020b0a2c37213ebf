"""Table names and primary keys, checked against the catalog."""

from __future__ import annotations

import re

import psycopg

from syncsvc.db import Row
from syncsvc.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


def split_table_name(name: str) -> tuple[str, str]:
    """``schema.table`` (or ``table``, meaning ``public``) split and checked."""
    parts = name.split(".")
    if len(parts) == 1:
        parts = ["public", parts[0]]
    if len(parts) != 2 or not all(_NAME.match(p) for p in parts):
        raise ConfigError(f"not a table name: {name!r} (expected SCHEMA.TABLE)")
    return parts[0], parts[1]


def primary_key_columns(conn: psycopg.Connection[Row], table: str) -> list[str]:
    schema, name = split_table_name(table)
    row = conn.execute(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, name),
    ).fetchone()
    if row is None:
        raise ConfigError(f"table {schema}.{name} does not exist")
    cols = conn.execute(
        "SELECT a.attname FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.ord",
        (row["oid"],),
    ).fetchall()
    keys = [c["attname"] for c in cols]
    if not keys:
        raise ConfigError(f"table {schema}.{name} has no primary key; capture needs one")
    return keys
