"""Install and remove the versioned capture triggers on customer tables."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from syncsvc.capture import trigger_v1
from syncsvc.capture.tables import primary_key_columns, split_table_name
from syncsvc.db import Row
from syncsvc.errors import ConfigError

NOTIFY_MODES = ("off", "throttled", "always")
_TRIGGERS = {
    "INSERT": ("syncsvc_capture_ins", "REFERENCING NEW TABLE AS syncsvc_new"),
    "UPDATE": (
        "syncsvc_capture_upd",
        "REFERENCING OLD TABLE AS syncsvc_old NEW TABLE AS syncsvc_new",
    ),
    "DELETE": ("syncsvc_capture_del", "REFERENCING OLD TABLE AS syncsvc_old"),
}
KEY_TRIGGER = "syncsvc_capture_key"


@dataclass(frozen=True)
class CapturedTable:
    table_name: str
    key_columns: list[str]
    notify: str
    installed: bool


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
    conn.execute(trigger_v1.create_function(conn, schema, name, keys, notify, throttle_ms))
    function = sql.Identifier("syncsvc", trigger_v1.function_name(schema, name))
    conn.execute(trigger_v1.create_key_change_function(conn, schema, name, keys))
    for trigger in (*(t for t, _ in _TRIGGERS.values()), KEY_TRIGGER):
        conn.execute(
            sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(sql.Identifier(trigger), target)
        )
    conn.execute(
        sql.SQL(
            "CREATE TRIGGER {trigger} AFTER UPDATE OF {columns} ON {target} FOR EACH ROW "
            "WHEN ({changed}) EXECUTE FUNCTION {function}()"
        ).format(
            trigger=sql.Identifier(KEY_TRIGGER),
            columns=sql.SQL(", ").join(sql.Identifier(k) for k in keys),
            target=target,
            changed=trigger_v1.key_changed(keys),
            function=sql.Identifier("syncsvc", trigger_v1.key_change_function_name(schema, name)),
        )
    )
    for event, (trigger, referencing) in _TRIGGERS.items():
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER {trigger} AFTER {event} ON {target} {referencing} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
            ).format(
                trigger=sql.Identifier(trigger),
                event=sql.SQL(event),
                target=target,
                referencing=sql.SQL(referencing),
                function=function,
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
        for trigger in (*(t for t, _ in _TRIGGERS.values()), KEY_TRIGGER):
            conn.execute(
                sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                    sql.Identifier(trigger), sql.Identifier(schema, name)
                )
            )
    for function in (
        trigger_v1.function_name(schema, name),
        trigger_v1.key_change_function_name(schema, name),
    ):
        conn.execute(
            sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier("syncsvc", function))
        )
    cur = conn.execute(
        "DELETE FROM syncsvc.captured_table WHERE table_name = %s", (f"{schema}.{name}",)
    )
    return cur.rowcount > 0


def list_captures(conn: psycopg.Connection[Row]) -> list[CapturedTable]:
    rows = conn.execute(
        "SELECT c.table_name, c.key_columns, c.notify, "
        "  (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = to_regclass(c.table_name) "
        "     AND t.tgname LIKE 'syncsvc_capture_%%') = 4 AS installed "
        "FROM syncsvc.captured_table c ORDER BY c.table_name"
    ).fetchall()
    return [
        CapturedTable(r["table_name"], list(r["key_columns"]), r["notify"], bool(r["installed"]))
        for r in rows
    ]


def key_columns_by_table(conn: psycopg.Connection[Row]) -> dict[str, list[str]]:
    return {c.table_name: c.key_columns for c in list_captures(conn)}
