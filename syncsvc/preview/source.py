"""Reading a source table in keyset order (by primary key, composite keys included), in pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

from syncsvc.capture import split_table_name
from syncsvc.capture.install import key_columns_by_table
from syncsvc.capture.tables import primary_key_columns
from syncsvc.db import Row

MAX_PAGE = 5_000


def key_columns(db: psycopg.Connection[Row], table: str) -> list[str]:
    """The key capture uses for ``table`` (its primary key when it is not captured)."""
    return key_columns_by_table(db).get(table) or primary_key_columns(db, table)


def _filters(where: sql.Composable | None, since: sql.Composable | None) -> list[sql.Composable]:
    return [sql.SQL("({})").format(part) for part in (where, since) if part is not None]


def count_rows(
    db: psycopg.Connection[Row],
    table: str,
    where: sql.Composable | None = None,
    since: sql.Composable | None = None,
) -> int:
    """How many rows of ``table`` match ``where`` and ``since``."""
    schema, name = split_table_name(table)
    filters = _filters(where, since)
    query = sql.SQL("SELECT count(*) AS n FROM {table} AS t{where}").format(
        table=sql.Identifier(schema, name),
        where=sql.SQL(" WHERE ") + sql.SQL(" AND ").join(filters) if filters else sql.SQL(""),
    )
    row = db.execute(query).fetchone()
    return int(row["n"]) if row else 0


def read_pages(
    db: psycopg.Connection[Row],
    table: str,
    keys: list[str],
    where: sql.Composable | None = None,
    since: sql.Composable | None = None,
    page_size: int = 1_000,
    limit: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of rows (as ``to_jsonb`` gives them: what the chain's validate stage reads), in key
    order, each page one short statement; at most ``limit`` rows in all.

    ``where`` and ``since`` are already composed SQL on the table's columns (alias ``t``)."""
    schema, name = split_table_name(table)
    size = max(1, min(page_size, MAX_PAGE))
    key_list = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(k)) for k in keys)
    named = sql.SQL(", ").join(
        sql.SQL("t.{} AS {}").format(sql.Identifier(k), sql.Identifier(f"_key{i}"))
        for i, k in enumerate(keys)
    )
    last: list[Any] | None = None
    left = limit
    while left is None or left > 0:
        filters = _filters(where, since)
        params: list[Any] = []
        if last is not None:
            filters.append(
                sql.SQL("({}) > ({})").format(
                    key_list, sql.SQL(", ").join(sql.Placeholder() for _ in keys)
                )
            )
            params.extend(last)
        take = size if left is None else min(size, left)
        query = sql.SQL(
            "SELECT to_jsonb(t) AS _row, {named} FROM {table} AS t{where} ORDER BY {keys} LIMIT {n}"
        ).format(
            named=named,
            keys=key_list,
            table=sql.Identifier(schema, name),
            where=sql.SQL(" WHERE ") + sql.SQL(" AND ").join(filters) if filters else sql.SQL(""),
            n=sql.Literal(take),
        )
        rows = db.execute(query, params).fetchall()
        if not rows:
            return
        yield [r["_row"] for r in rows]
        last = [rows[-1][f"_key{i}"] for i in range(len(keys))]
        if left is not None:
            left -= len(rows)
        if len(rows) < take:
            return
