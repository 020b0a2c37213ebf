"""A table the inbound path has never seen, for the tests that bring a CRM's edits into it.

``people`` has a key that is not called ``id`` (text with a default, or a bigint identity),
``numeric``, ``integer``, ``date``, ``timestamptz``, ``boolean``, a column holding a picklist's
labels, NULLable columns everywhere and a soft-delete column (a ``timestamptz`` or a
``boolean``). A test creates it in a schema of its own, captures it (it is pushed to the CRM
too), and after each CRM edit compares the row column by column: value and Python type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from syncsvc import capture
from syncsvc.db import Row
from tests.support.wait import wait_until

DDL = """
CREATE TABLE {table} (
    {key},
    given_name  text,
    family_name text,
    email       text,
    revenue     numeric(14, 2),
    headcount   integer,
    birthday    date,
    last_seen   timestamptz,
    vip         boolean,
    stage       text,
    notes       text,
    {soft_delete}
)
"""
DATA_COLUMNS = (
    "given_name", "family_name", "email", "revenue", "headcount", "birthday", "last_seen",
    "vip", "stage", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class PeopleTable:
    schema: str
    key_column: str
    key_ddl: str
    """The key column's definition (with its default: records created in the CRM need one)."""
    soft_column: str
    soft_ddl: str
    before: str = ""
    """DDL run in the new schema before the table (a sequence its key's default takes)."""

    @property
    def name(self) -> str:
        return f"{self.schema}.people"

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.key_column, *DATA_COLUMNS, self.soft_column)

    def create(self, db: psycopg.Connection[Row]) -> None:
        """(Re)create the schema and the table, and capture it."""
        db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
        if self.before:
            db.execute(sql.SQL(self.before))  # type: ignore[arg-type]
        db.execute(
            sql.SQL(DDL).format(
                table=sql.Identifier(self.schema, "people"),
                key=sql.SQL(self.key_ddl),
                soft_delete=sql.SQL(self.soft_ddl),
            )
        )
        capture.add_capture(db, self.name, notify="always")

    def insert(self, db: psycopg.Connection[Row], values: Mapping[str, Any]) -> Any:
        """A row with ``values`` (the key from its default); returns its key."""
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
            sql.Identifier(self.schema, "people"),
            sql.SQL(", ").join(map(sql.Identifier, values)),
            sql.SQL(", ").join(sql.Placeholder() for _ in values),
            sql.Identifier(self.key_column),
        )
        row = db.execute(query, tuple(values.values())).fetchone()
        assert row is not None
        return row[self.key_column]

    def row(self, db: psycopg.Connection[Row], **where: Any) -> dict[str, Any] | None:
        """The row whose one column given equals its value."""
        ((column, value),) = where.items()
        query = sql.SQL("SELECT * FROM {} WHERE {} = %s").format(
            sql.Identifier(self.schema, "people"), sql.Identifier(column)
        )
        found = db.execute(query, (value,)).fetchone()
        return dict(found) if found else None

    def rows(self, db: psycopg.Connection[Row]) -> dict[Any, dict[str, Any]]:
        query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(self.schema, "people"))
        return {r[self.key_column]: dict(r) for r in db.execute(query)}


def differences(row: Mapping[str, Any] | None, want: Mapping[str, Any]) -> list[str]:
    """Every column of ``want`` the row does not hold, with the same Python type (a
    ``Decimal`` for numeric, ``int``, ``date``, an aware ``datetime``, ``bool``, ``str``)."""
    if row is None:
        return ["no such row"]
    problems = []
    for column, value in want.items():
        held = row.get(column)
        if held != value or type(held) is not type(value):
            problems.append(f"{column}: row {held!r}, want {value!r}")
    return problems


def wait_for_row(
    db: psycopg.Connection[Row],
    table: PeopleTable,
    key: Any,
    want: Mapping[str, Any],
    describe: Any,
    timeout: float = 15,
) -> dict[str, Any]:
    """Wait until the row keyed ``key`` holds ``want``; the row."""
    wait_until(
        lambda: not differences(table.row(db, **{table.key_column: key}), want),
        timeout,
        message=lambda: "\n".join(
            [*differences(table.row(db, **{table.key_column: key}), want), describe()]
        ),
    )
    found = table.row(db, **{table.key_column: key})
    assert found is not None
    return found


def story(db: psycopg.Connection[Row]) -> str:
    """The inbound events and the sync log, oldest first: what a failing step prints."""
    events = db.execute(
        "SELECT id, object, crm_id, kind, source, status, detail FROM syncsvc.inbound_event "
        "ORDER BY id"
    ).fetchall()
    log = db.execute(
        "SELECT record_key, op, status, error_code, error_message FROM syncsvc.sync_log ORDER BY id"
    ).fetchall()
    lines = ["inbound events:", *map(str, events), "sync log:", *map(str, log)]
    return "\n".join(lines)
