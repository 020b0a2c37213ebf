"""The inbox mode (``inbox: SCHEMA.TABLE``): each CRM change becomes one row of a table of
yours, for a system that applies the changes itself; the internal table is not written.

The inbox table needs these columns (``config apply`` checks them, ``syncsvc.inbound.tables``);
any others it has keep their defaults::

    CREATE TABLE app.crm_inbox (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        connection_id integer NOT NULL,
        object        text NOT NULL,        -- the CRM object (contacts, Contact, persons, …)
        crm_id        text NOT NULL,        -- the record's id in the CRM
        record_key    text,                 -- the internal key; NULL: created in the CRM
        kind          text NOT NULL,        -- change | delete
        fields        jsonb NOT NULL,       -- column → value, by the inbound mappings
        modified_at   timestamptz,          -- the CRM's modification time (NULL for a delete)
        received_at   timestamptz NOT NULL DEFAULT now()
    );

A change whose every mapped field holds what the CRM is known to hold (``syncsvc.inbound.echo``:
our own push coming back) is not written; nor is one of a record while it is being pushed
(``deferred``: its event waits for the push to settle).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from providers.base import CrmRecord
from syncsvc.db import Row
from syncsvc.inbound import echo
from syncsvc.inbound.model import InboundObject

COLUMNS = ("connection_id", "object", "crm_id", "record_key", "kind", "fields", "modified_at")
"""What every inbox row is written with."""
FIELDS_TYPES = ("jsonb", "json")
INSERT = "INSERT INTO {t} ({cols}) VALUES (%(c)s, %(o)s, %(id)s, %(key)s, %(kind)s, %(f)s, %(m)s)"


def _table(name: str) -> sql.Identifier:
    schema, _, table = name.partition(".")
    return sql.Identifier(schema, table)


def change(
    db: psycopg.Connection[Row],
    connection_id: int,
    spec: InboundObject,
    record: CrmRecord,
    values: dict[str, Any],
    key: str | None,
) -> str:
    """A changed (or created) record into the inbox: ``applied``, ``ignored`` (an echo) or
    ``deferred``."""
    if key is not None:
        state = echo.push_state(db, connection_id, spec.object, key)
        if state is not None and state.in_flight:
            return "deferred"
        delivered = state.delivered if state is not None else None
        if values and all(echo.ours(spec, c, record.fields, delivered) for c in values):
            return "ignored"
        echo.took(db, connection_id, spec, key, record.fields, values)
    write(db, connection_id, spec, record.id, key, "change", values, record)
    return "applied"


def write(
    db: psycopg.Connection[Row],
    connection_id: int,
    spec: InboundObject,
    crm_id: str,
    key: str | None,
    kind: str,
    values: dict[str, Any],
    record: CrmRecord | None,
) -> None:
    """One inbox row."""
    assert spec.inbox is not None
    query = sql.SQL(INSERT).format(
        t=_table(spec.inbox), cols=sql.SQL(", ").join(map(sql.Identifier, COLUMNS))
    )
    db.execute(
        query,
        {
            "c": connection_id,
            "o": spec.object,
            "id": crm_id,
            "key": key,
            "kind": kind,
            "f": Jsonb(values),
            "m": record.modified_at if record else None,
        },
    )
