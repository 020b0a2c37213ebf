"""Install and remove the versioned capture triggers on customer tables."""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from syncsvc.db import Row
from syncsvc.errors import ConfigError

NOTIFY_MODES = ("off", "throttled", "always")
TRIGGER_FUNCTION = "capture_v1"
_TRIGGERS = {
    "INSERT": ("syncsvc_capture_ins", "REFERENCING NEW TABLE AS syncsvc_new"),
    "UPDATE": (
        "syncsvc_capture_upd",
        "REFERENCING OLD TABLE AS syncsvc_old NEW TABLE AS syncsvc_new",
    ),
    "DELETE": ("syncsvc_capture_del", "REFERENCING OLD TABLE AS syncsvc_old"),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


@dataclass(frozen=True)
class CapturedTable:
    table_name: str
    key_columns: list[str]
    notify: str
    installed: bool


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
    oid = row["oid"]
    cols = conn.execute(
        "SELECT a.attname FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.ord",
        (oid,),
    ).fetchall()
    keys = [c["attname"] for c in cols]
    if not keys:
        raise ConfigError(f"table {schema}.{name} has no primary key; capture needs one")
    return keys


def add_capture(
    conn: psycopg.Connection[Row],
    table: str,
    notify: str = "throttled",
    throttle_ms: int = 250,
) -> CapturedTable:
    """Install (or reinstall) the capture triggers on ``table`` in the caller's transaction."""
    if notify not in NOTIFY_MODES:
        raise ConfigError(f"notify must be one of {', '.join(NOTIFY_MODES)}, got {notify!r}")
    if not 1 <= throttle_ms <= 60_000:
        raise ConfigError(f"throttle must be between 1 and 60000 ms, got {throttle_ms}")
    schema, name = split_table_name(table)
    keys = primary_key_columns(conn, table)
    target = sql.Identifier(schema, name)
    args = sql.SQL(", ").join(sql.Literal(a) for a in [notify, str(throttle_ms), *keys])
    for event, (trigger, referencing) in _TRIGGERS.items():
        conn.execute(
            sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(trigger), target)
        )
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER {trigger} AFTER {event} ON {target} {referencing} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {function}({args})"
            ).format(
                trigger=sql.Identifier(trigger),
                event=sql.SQL(event),
                target=target,
                referencing=sql.SQL(referencing),
                function=sql.Identifier("syncsvc", TRIGGER_FUNCTION),
                args=args,
            )
        )
    conn.execute(
        "INSERT INTO syncsvc.captured_table (table_name, key_columns, notify) "
        "VALUES (%s, %s, %s) ON CONFLICT (table_name) DO UPDATE "
        "SET key_columns = EXCLUDED.key_columns, notify = EXCLUDED.notify",
        (f"{schema}.{name}", keys, notify),
    )
    return CapturedTable(f"{schema}.{name}", keys, notify, True)


def remove_capture(conn: psycopg.Connection[Row], table: str) -> bool:
    """Drop the capture triggers from ``table``; returns whether it was captured."""
    schema, name = split_table_name(table)
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS ok", (f"{schema}.{name}",)).fetchone()
    if row and row["ok"]:
        for trigger, _ in _TRIGGERS.values():
            conn.execute(
                sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                    sql.Identifier(trigger), sql.Identifier(schema, name)
                )
            )
    cur = conn.execute(
        "DELETE FROM syncsvc.captured_table WHERE table_name = %s", (f"{schema}.{name}",)
    )
    return cur.rowcount > 0


def list_captures(conn: psycopg.Connection[Row]) -> list[CapturedTable]:
    rows = conn.execute(
        "SELECT c.table_name, c.key_columns, c.notify, "
        "  (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = to_regclass(c.table_name) "
        "     AND t.tgname LIKE 'syncsvc_capture_%%') = 3 AS installed "
        "FROM syncsvc.captured_table c ORDER BY c.table_name"
    ).fetchall()
    return [
        CapturedTable(r["table_name"], list(r["key_columns"]), r["notify"], bool(r["installed"]))
        for r in rows
    ]


def key_columns_by_table(conn: psycopg.Connection[Row]) -> dict[str, list[str]]:
    return {c.table_name: c.key_columns for c in list_captures(conn)}
