"""Version 1 of the capture trigger function, generated per table from this template.

Statement-level with transition tables, keys only: storing keys is cheaper for writers than
copying the row, and the pipeline reads the current row at sync time anyway.
The function is static SQL per table, so PL/pgSQL caches its plans; a generic function would
need EXECUTE per statement, which halved single-row commit throughput when measured. A key
change is captured as a delete of the old key (by a row trigger that fires only when a key
column is updated and differs) plus an update of the new one. Identifiers are quoted by psycopg
(``sql.Identifier``), values by ``sql.Literal``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg
from psycopg import sql

VERSION = "v1"
CHANNEL = "syncsvc"

_BODY = """
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO syncsvc.sync_event (table_name, op, pk)
        SELECT {table}, 'I', {key} FROM syncsvc_new AS r;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO syncsvc.sync_event (table_name, op, pk)
        SELECT {table}, 'U', {key} FROM syncsvc_new AS r;
    ELSE
        INSERT INTO syncsvc.sync_event (table_name, op, pk)
        SELECT {table}, 'D', {key} FROM syncsvc_old AS r;
    END IF;
    {notify}
    RETURN NULL;
END
"""

_NOTIFY = {
    "off": "",
    "always": "PERFORM pg_notify({channel}, {table});",
    # At most one NOTIFY per session per interval: every NOTIFYing commit takes an instance-wide
    # lock, which halves commit throughput under concurrent writers; the bridge's poll fallback
    # carries the rest.
    "throttled": """
    IF (extract(epoch FROM clock_timestamp()) * 1000)::bigint
       - coalesce(nullif(current_setting('syncsvc.last_notify_ms', true), '')::bigint, 0)
       >= {interval} THEN
        PERFORM pg_notify({channel}, {table});
        PERFORM set_config('syncsvc.last_notify_ms',
                           ((extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text, false);
    END IF;""",
}


_KEY_CHANGE_BODY = """
BEGIN
    INSERT INTO syncsvc.sync_event (table_name, op, pk) VALUES ({table}, 'D', {old_key});
    RETURN NULL;
END
"""


_MAX_NAME = 63  # PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes


def function_name(schema: str, table: str, suffix: str = "") -> str:
    """``capture_v1[k]_<schema>_<table>_<hash>``, in the ``syncsvc`` schema: one per table.

    The hash (16 hex digits of SHA-256 over the quoted ``"schema"."table"``) keeps the name of
    each table's function its own: joined with ``_`` alone, ``a_b.c`` and ``a.b_c`` read the same
    and one table's install would replace the other's function. The readable part is only a
    label, cut to fit PostgreSQL's 63 bytes.
    """
    quoted = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table))
    digest = hashlib.sha256(quoted.encode()).hexdigest()[:16]
    prefix = f"capture_{VERSION}{suffix}_"
    room = _MAX_NAME - len(prefix) - len(digest) - 1
    label = f"{schema}_{table}".encode()[:room].decode(errors="ignore")
    return f"{prefix}{label}_{digest}"


def legacy_function_names(schema: str, table: str) -> tuple[str, ...]:
    """The names the first release gave these functions (``capture_v1_<schema>_<table>``, which
    two tables could share), so that ``capture remove`` and a reinstall clean them up."""
    names = []
    for suffix in ("", "k"):
        name = f"capture_{VERSION}{suffix}_{schema}_{table}"
        if len(name.encode()) > _MAX_NAME:
            digest = hashlib.sha256(f"{schema}.{table}".encode()).hexdigest()[:16]
            name = f"capture_{VERSION}{suffix}_{digest}"
        names.append(name)
    return tuple(names)


def key_change_function_name(schema: str, table: str) -> str:
    return function_name(schema, table, "k")


def key_changed(keys: list[str]) -> sql.Composed:
    """The WHEN condition of the key-change trigger."""
    return sql.SQL(" OR ").join(
        sql.SQL("OLD.{k} IS DISTINCT FROM NEW.{k}").format(k=sql.Identifier(k)) for k in keys
    )


def create_key_change_function(
    conn: psycopg.Connection[Any], schema: str, table: str, keys: list[str]
) -> sql.Composed:
    old_key = sql.SQL("jsonb_build_object({})").format(
        sql.SQL(", ").join(
            sql.SQL("{}, OLD.{}").format(sql.Literal(k), sql.Identifier(k)) for k in keys
        )
    )
    body = (
        sql.SQL(_KEY_CHANGE_BODY)
        .format(table=sql.Literal(f"{schema}.{table}"), old_key=old_key)
        .as_string(conn)
    )
    name = sql.Identifier("syncsvc", key_change_function_name(schema, table))
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS {body}"
    ).format(name=name, body=sql.Literal(body))


def create_function(
    conn: psycopg.Connection[Any],
    schema: str,
    table: str,
    keys: list[str],
    notify: str,
    interval_ms: int,
) -> sql.Composed:
    """``CREATE OR REPLACE FUNCTION`` for one table's capture trigger."""
    qualified = sql.Literal(f"{schema}.{table}")
    key = sql.SQL("jsonb_build_object({})").format(
        sql.SQL(", ").join(
            sql.SQL("{}, r.{}").format(sql.Literal(k), sql.Identifier(k)) for k in keys
        )
    )
    notify_sql = sql.SQL(_NOTIFY[notify]).format(
        channel=sql.Literal(CHANNEL), table=qualified, interval=sql.Literal(interval_ms)
    )
    body = sql.SQL(_BODY).format(table=qualified, key=key, notify=notify_sql).as_string(conn)
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS {body}"
    ).format(name=sql.Identifier("syncsvc", function_name(schema, table)), body=sql.Literal(body))
