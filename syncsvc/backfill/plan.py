"""From the command line to backfill specs: which tables of a connection, through which rules,
with which filters, all checked against the config and the catalog before anything is written.

``--since`` needs a column to compare: ``--since-column``, else the table's ``updated_at`` when
it has one. The column must be a ``date``, ``timestamp`` or ``timestamptz``; rows whose column
is NULL are not read. (No rule or table setting names an updated-at column today.)

A backfill sends each row as an ``update`` when one of its rules fires on updates, else as an
``insert``: rules with conditions, mappings and actions then treat it as that live change would.
A rule that fires only on deletes cannot be backfilled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from syncsvc.backfill import predicate
from syncsvc.backfill.store import Spec
from syncsvc.capture import key_columns_by_table, primary_key_columns, split_table_name
from syncsvc.config.runtime import CompiledRule, load_runtime_config
from syncsvc.db import Row
from syncsvc.errors import ConfigError
from syncsvc.kinds import ChangeOp
from syncsvc.rules.sources import source_tables
from syncsvc.validation.registry import internal_spec

DEFAULT_SINCE_COLUMN = "updated_at"
TIME_TYPES = ("date", "timestamp without time zone", "timestamp with time zone")
MAX_PAGE_SIZE = 10_000

COLUMN_TYPE = """
SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND a.attname = %(column)s
  AND a.attnum > 0 AND NOT a.attisdropped
"""


@dataclass(frozen=True)
class Request:
    """``manage.py backfill CONNECTION [--rule] [--table] [--where] [--since]``."""

    connection: str
    rule: str | None = None
    table: str | None = None
    where: str | None = None
    since: datetime | None = None
    since_column: str | None = None
    page_size: int = 500


def _connection_id(db: psycopg.Connection[Row], name: str) -> int:
    row = db.execute(
        "SELECT id, enabled FROM syncsvc.connection WHERE name = %s", (name,)
    ).fetchone()
    if row is None:
        raise ConfigError(f"no connection named {name!r} (see `manage.py status`)")
    if not row["enabled"]:
        raise ConfigError(f"connection {name} is disabled: enable it before a backfill")
    return int(row["id"])


def _tables_and_ops(rules: Sequence[CompiledRule], request: Request) -> dict[str, set[ChangeOp]]:
    """Source table → the ops its sending rules fire on (rules sending nothing are left out)."""
    tables = source_tables(rules, request.connection, request.rule)
    if request.rule is not None and any(
        r.name == request.rule and r.action == "skip" for r in rules
    ):
        raise ConfigError(f"rule {request.rule} skips records; it has nothing to send")
    tables = {table: ops for table, ops in tables.items() if ops}
    if request.table is not None:
        schema, name = split_table_name(request.table)
        wanted = f"{schema}.{name}"
        if wanted not in tables:
            known = ", ".join(sorted(tables)) or "none"
            raise ConfigError(
                f"no rule of connection {request.connection} sends rows of {wanted} on insert "
                f"or update (its tables: {known})"
            )
        tables = {wanted: tables[wanted]}
    if not tables:
        what = f"rule {request.rule}" if request.rule else f"connection {request.connection}"
        raise ConfigError(f"{what} has no rule that sends rows on insert or update")
    return tables


def _since_column(
    db: psycopg.Connection[Row], schema: str, table: str, request: Request
) -> str | None:
    if request.since is None:
        if request.since_column is not None:
            raise ConfigError("--since-column needs --since")
        return None
    column = request.since_column or DEFAULT_SINCE_COLUMN
    row = db.execute(COLUMN_TYPE, {"schema": schema, "table": table, "column": column}).fetchone()
    if row is None:
        hint = "" if request.since_column else " (name the column with --since-column)"
        raise ConfigError(f"{schema}.{table} has no column {column!r} for --since{hint}")
    if row["type"] not in TIME_TYPES:
        raise ConfigError(
            f"--since compares {schema}.{table}.{column}, a {row['type']}: it must be a date "
            "or a timestamp"
        )
    return column


def plan(
    db: psycopg.Connection[Row], request: Request, schema_dirs: tuple[Path, ...]
) -> list[Spec]:
    """One spec per source table, checked; ``db`` must be in autocommit (the ``--where`` check
    runs in a read-only transaction of its own)."""
    if not 1 <= request.page_size <= MAX_PAGE_SIZE:
        raise ConfigError(f"--page-size must be from 1 to {MAX_PAGE_SIZE}")
    connection_id = _connection_id(db, request.connection)
    rules = load_runtime_config(db).connections[connection_id].rules
    tables = _tables_and_ops(rules, request)
    where = predicate.scan(request.where) if request.where is not None else None
    if where is not None and len(tables) > 1:
        raise ConfigError(
            f"--where applies to one table; connection {request.connection} sends "
            f"{', '.join(sorted(tables))}: choose one with --table or --rule"
        )
    captured = key_columns_by_table(db)
    specs = []
    for table, ops in sorted(tables.items()):
        schema, name = split_table_name(table)
        internal_spec(table, schema_dirs)  # the validate stage needs the table's field spec
        keys = captured.get(table) or primary_key_columns(db, table)
        if where is not None:
            predicate.check(db, sql.Identifier(schema, name), where)
        specs.append(
            Spec(
                connection_id=connection_id,
                source_table=table,
                rule_name=request.rule,
                op="U" if "U" in ops else "I",
                key_columns=keys,
                where_sql=where,
                since=request.since,
                since_column=_since_column(db, schema, name, request),
                page_size=request.page_size,
            )
        )
    return specs
