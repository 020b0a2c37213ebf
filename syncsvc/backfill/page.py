"""One page of a backfill: the next keys in primary-key order, locked, written as events.

A page is two statements in the transaction that also advances the backfill's row:

1. ``KEYS``: the next ``page_size`` keys after ``last_key`` (keyset order on the primary key, a
   row comparison the primary-key index serves, composite keys included), filtered by
   ``--where`` and ``--since``. Read from the statement's snapshot, without locks.
2. ``WRITE``: those rows locked ``FOR SHARE`` and one ``sync_event`` per row still there,
   tagged with the backfill and aimed at its connection alone (``targets``).

Why the lock: an event's id is the version its record gets in the outbox, and the pipeline
reads the row when it validates the batch. ``FOR SHARE`` waits for a live transaction that
has updated a row of the page to commit, so that transaction's event has the lower id; a live
update after the lock waits for this page to commit and gets the higher id. Either way the
newest data has the highest version (I-2). The locks last one page's transaction. A row whose
key changed or that was deleted in between is skipped (the change has its own live event);
``last_key`` comes from step 1, so no row is skipped for another's new key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from syncsvc.backfill import predicate
from syncsvc.db import Row

STATEMENT_TIMEOUT_MS = 60_000
LOCK_TIMEOUT_MS = 10_000
"""A page waiting longer for a live transaction's row lock gives up and is tried again."""


@dataclass(frozen=True)
class Target:
    """What the page statements read: the table (checked), its key, the filters."""

    schema: str
    table: str
    key_columns: list[str]
    where: str | None
    since_column: str | None

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.table)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class Page:
    rows: int
    """Keys read (matching the filters)."""
    queued: int
    """Events written (rows still there when locked)."""
    last_key: dict[str, Any] | None


def _key_object(keys: list[str]) -> sql.Composed:
    """``jsonb_build_object('k', t.k, …)``: the same ``pk`` the capture trigger writes."""
    return sql.SQL("jsonb_build_object({})").format(
        sql.SQL(", ").join(
            sql.SQL("{}, t.{}").format(sql.Literal(k), sql.Identifier(k)) for k in keys
        )
    )


def _columns(prefix: str, keys: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL(prefix + "{}").format(sql.Identifier(k)) for k in keys)


def _rows_query(target: Target, after: bool, select: sql.Composable, limit: bool) -> sql.Composed:
    """``SELECT select FROM table AS t WHERE`` after ``%(last_key)s``, ``--where`` and
    ``t.since_column >= %(since)s``, in key order up to ``%(limit)s`` rows when ``limit``."""
    conditions: list[sql.Composable] = []
    if after:
        conditions.append(
            sql.SQL(
                "({keys}) > (SELECT {last} FROM jsonb_populate_record(NULL::{table}, "
                "%(last_key)s::jsonb) AS l)"
            ).format(
                keys=_columns("t.", target.key_columns),
                last=_columns("l.", target.key_columns),
                table=target.identifier,
            )
        )
    if target.where:
        conditions.append(predicate.as_sql(target.where))
    if target.since_column:
        conditions.append(sql.SQL("t.{} >= %(since)s").format(sql.Identifier(target.since_column)))
    query = sql.SQL("SELECT {select} FROM {table} AS t WHERE {where}").format(
        select=select,
        table=target.identifier,
        where=sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true"),
    )
    if limit:
        order = _columns("t.", target.key_columns)
        query = sql.SQL("{} ORDER BY {} LIMIT %(limit)s").format(query, order)
    return query


def keys_query(target: Target, after: bool) -> sql.Composed:
    """The page's keys as one JSON array (text, so values round-trip exactly), how many, and
    the last one."""
    aliases = [sql.Identifier(f"k{i}") for i in range(len(target.key_columns))]
    select = sql.SQL("{pk} AS pk, {keys}").format(
        pk=_key_object(target.key_columns),
        keys=sql.SQL(", ").join(
            sql.SQL("t.{} AS {}").format(sql.Identifier(k), alias)
            for k, alias in zip(target.key_columns, aliases, strict=True)
        ),
    )
    order = sql.SQL(", ").join(sql.SQL("p.{}").format(a) for a in aliases)
    desc = sql.SQL(", ").join(sql.SQL("p.{} DESC").format(a) for a in aliases)
    return sql.SQL(
        "SELECT jsonb_agg(p.pk ORDER BY {order})::text AS keys, count(*) AS n, "
        "(array_agg(p.pk::text ORDER BY {desc}))[1] AS last_key FROM ({rows}) AS p"
    ).format(order=order, desc=desc, rows=_rows_query(target, after, select, limit=True))


def write_query(target: Target) -> sql.Composed:
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in target.key_columns)
    return sql.SQL(
        "WITH locked AS ("
        " SELECT {pk} AS pk FROM {table} AS t"
        " JOIN jsonb_populate_recordset(NULL::{table}, %(keys)s::jsonb) AS k USING ({keys})"
        " ORDER BY {sort} FOR SHARE OF t"
        ") "
        "INSERT INTO syncsvc.sync_event (table_name, op, pk, targets, backfill_id) "
        "SELECT %(table_name)s, %(op)s, locked.pk, ARRAY[%(connection_id)s]::integer[], "
        "%(backfill_id)s FROM locked"
    ).format(
        pk=_key_object(target.key_columns),
        table=target.identifier,
        keys=keys,
        sort=_columns("t.", target.key_columns),
    )


def write_page(
    db: psycopg.Connection[Row],
    target: Target,
    *,
    backfill_id: int,
    connection_id: int,
    op: str,
    last_key: dict[str, Any] | None,
    since: datetime | None,
    page_size: int,
) -> Page:
    """Read and write one page in the caller's transaction (which must commit it with the
    backfill row's advance)."""
    db.execute(
        "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
        (str(STATEMENT_TIMEOUT_MS), str(LOCK_TIMEOUT_MS)),
    )
    params: dict[str, Any] = {"limit": page_size, "since": since}
    if last_key is not None:
        params["last_key"] = Jsonb(last_key)
    found = db.execute(keys_query(target, last_key is not None), params).fetchone()
    assert found is not None
    rows = int(found["n"])
    if rows == 0:
        return Page(0, 0, None)
    written = db.execute(
        write_query(target),
        {
            "keys": found["keys"],
            "table_name": target.qualified,
            "op": op,
            "connection_id": connection_id,
            "backfill_id": backfill_id,
        },
    )
    return Page(rows, written.rowcount, json.loads(found["last_key"]))


def count_rows(
    db: psycopg.Connection[Row],
    target: Target,
    last_key: dict[str, Any] | None,
    since: datetime | None,
) -> int:
    """Rows the backfill has still to read (for the progress bar's total), under the page's
    statement timeout."""
    db.execute("SELECT set_config('statement_timeout', %s, true)", (str(STATEMENT_TIMEOUT_MS),))
    query = sql.SQL("SELECT count(*) AS n FROM ({}) AS rest").format(
        _rows_query(target, last_key is not None, sql.SQL("1"), limit=False)
    )
    params: dict[str, Any] = {"since": since}
    if last_key is not None:
        params["last_key"] = Jsonb(last_key)
    row = db.execute(query, params).fetchone()
    return int(row["n"]) if row else 0
