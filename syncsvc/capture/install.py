"""Install and remove the versioned capture triggers on customer tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
ALL_TRIGGERS = (*(t for t, _ in _TRIGGERS.values()), KEY_TRIGGER)


@dataclass(frozen=True)
class CapturedTable:
    table_name: str
    key_columns: list[str]
    notify: str
    triggers: str
    """``ok``; ``missing`` (the table or some of its triggers are gone); ``outdated`` (they call
    other functions than this version's, e.g. installed under the first release's names:
    ``capture add`` again reinstalls them)."""

    @property
    def installed(self) -> bool:
        return self.triggers == "ok"


def check_capturable(schema: str, name: str) -> None:
    """Refuse syncsvc's own tables and the system catalogs."""
    if schema == "syncsvc":
        raise ConfigError(
            f"cannot capture {schema}.{name}: the syncsvc schema holds syncsvc's own tables "
            "(capturing them would make every captured write recurse)"
        )
    if schema.startswith("pg_") or schema == "information_schema":
        raise ConfigError(f"cannot capture {schema}.{name}: it is a system catalog")


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
    check_capturable(schema, name)
    keys = primary_key_columns(conn, table)
    with _database_errors("capture", schema, name):
        _install(conn, schema, name, keys, notify, throttle_ms)
    return CapturedTable(f"{schema}.{name}", keys, notify, "ok")


def _install(
    conn: psycopg.Connection[Row],
    schema: str,
    name: str,
    keys: list[str],
    notify: str,
    throttle_ms: int,
) -> None:
    target = sql.Identifier(schema, name)
    replaced = _trigger_functions(conn, schema, name)
    conn.execute(trigger_v1.create_function(conn, schema, name, keys, notify, throttle_ms))
    function = sql.Identifier("syncsvc", trigger_v1.function_name(schema, name))
    conn.execute(trigger_v1.create_key_change_function(conn, schema, name, keys))
    _drop_triggers(conn, schema, name)
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
    _drop_unused_functions(conn, replaced)
    conn.execute(
        "INSERT INTO syncsvc.captured_table (table_name, key_columns, notify) "
        "VALUES (%s, %s, %s) ON CONFLICT (table_name) DO UPDATE "
        "SET key_columns = EXCLUDED.key_columns, notify = EXCLUDED.notify",
        (f"{schema}.{name}", keys, notify),
    )


def remove_capture(conn: psycopg.Connection[Row], table: str) -> bool:
    """Drop the capture triggers from ``table``; returns whether it was captured.

    The functions dropped are the ones its triggers called (whatever their names, so installs of
    the first release too) plus this table's by name, each only once no trigger calls it.
    """
    schema, name = split_table_name(table)
    with _database_errors("stop capturing", schema, name):
        functions = _trigger_functions(conn, schema, name)
        _drop_triggers(conn, schema, name)
        names = [
            trigger_v1.function_name(schema, name),
            trigger_v1.key_change_function_name(schema, name),
            *trigger_v1.legacy_function_names(schema, name),
        ]
        rows = conn.execute(
            "SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'syncsvc' AND p.proname = ANY(%s)",
            (names,),
        ).fetchall()
        _drop_unused_functions(conn, functions + [r["oid"] for r in rows])
        cur = conn.execute(
            "DELETE FROM syncsvc.captured_table WHERE table_name = %s", (f"{schema}.{name}",)
        )
    return cur.rowcount > 0


def list_captures(conn: psycopg.Connection[Row]) -> list[CapturedTable]:
    rows = conn.execute(
        "SELECT table_name, key_columns, notify FROM syncsvc.captured_table ORDER BY table_name"
    ).fetchall()
    return [
        CapturedTable(
            r["table_name"],
            list(r["key_columns"]),
            r["notify"],
            _trigger_state(conn, r["table_name"]),
        )
        for r in rows
    ]


def key_columns_by_table(conn: psycopg.Connection[Row]) -> dict[str, list[str]]:
    rows = conn.execute("SELECT table_name, key_columns FROM syncsvc.captured_table").fetchall()
    return {r["table_name"]: list(r["key_columns"]) for r in rows}


def _trigger_state(conn: psycopg.Connection[Row], table_name: str) -> str:
    try:
        schema, name = split_table_name(table_name)
    except ConfigError:
        return "missing"
    rows = conn.execute(
        "SELECT t.tgname, fn.nspname, p.proname FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = p.pronamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND t.tgname = ANY(%s)",
        (schema, name, list(ALL_TRIGGERS)),
    ).fetchall()
    calls = {r["tgname"]: (r["nspname"], r["proname"]) for r in rows}
    if set(calls) != set(ALL_TRIGGERS):
        return "missing"
    expected = {
        t: ("syncsvc", trigger_v1.function_name(schema, name)) for t, _ in _TRIGGERS.values()
    }
    expected[KEY_TRIGGER] = ("syncsvc", trigger_v1.key_change_function_name(schema, name))
    return "ok" if calls == expected else "outdated"


def _trigger_functions(conn: psycopg.Connection[Row], schema: str, name: str) -> list[int]:
    """The functions the capture triggers on ``schema.name`` call now (none if it is gone)."""
    rows = conn.execute(
        "SELECT DISTINCT t.tgfoid AS oid FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND t.tgname = ANY(%s)",
        (schema, name, list(ALL_TRIGGERS)),
    ).fetchall()
    return [r["oid"] for r in rows]


def _drop_triggers(conn: psycopg.Connection[Row], schema: str, name: str) -> None:
    exists = conn.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    ).fetchone()
    if exists is None:
        return
    for trigger in ALL_TRIGGERS:
        conn.execute(
            sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(
                sql.Identifier(trigger), sql.Identifier(schema, name)
            )
        )


def _drop_unused_functions(conn: psycopg.Connection[Row], oids: list[int]) -> None:
    """Drop those of ``oids`` that are capture functions (in ``syncsvc``, any version) and that no
    trigger calls any more (two tables could share one under the first release's names)."""
    for oid in dict.fromkeys(oids):
        row = conn.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.oid = %s AND n.nspname = 'syncsvc' AND p.proname LIKE 'capture\\_v%%' "
            "AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgfoid = p.oid)",
            (oid,),
        ).fetchone()
        if row is not None:
            conn.execute(
                sql.SQL("DROP FUNCTION {}()").format(sql.Identifier("syncsvc", row["proname"]))
            )


@contextmanager
def _database_errors(action: str, schema: str, name: str) -> Iterator[None]:
    """A database error (no privilege on the table, a lock timeout) as one clear line."""
    try:
        yield
    except psycopg.DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot {action} {schema}.{name}: {reason}") from exc
