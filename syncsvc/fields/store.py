"""The per-connection cache of CRM field definitions in ``syncsvc.crm_field``.

Definitions are read from the CRM by ``config apply`` and ``manage.py fields refresh``; the
transform stage reads them from here, so it works while the CRM is unreachable.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg.types.json import Jsonb

from syncsvc.db import Row
from syncsvc.errors import ConfigError
from syncsvc.fields.model import ObjectFields

SAVE = """
INSERT INTO syncsvc.crm_field (connection_id, object, definitions, fetched_at)
VALUES (%(connection_id)s, %(object)s, %(definitions)s, now())
ON CONFLICT (connection_id, object) DO UPDATE
    SET definitions = EXCLUDED.definitions, fetched_at = EXCLUDED.fetched_at
"""

LOAD = """
SELECT object, definitions, fetched_at FROM syncsvc.crm_field
WHERE connection_id = %(connection_id)s AND (%(object)s::text IS NULL OR object = %(object)s)
ORDER BY object
"""


def save_fields(db: psycopg.Connection[Row], connection_id: int, fields: ObjectFields) -> None:
    db.execute(
        SAVE,
        {
            "connection_id": connection_id,
            "object": fields.object,
            "definitions": Jsonb(fields.to_json()),
        },
    )


def load_fields(
    db: psycopg.Connection[Row], connection_id: int, object_name: str | None = None
) -> dict[str, ObjectFields]:
    """The cached definitions of a connection's objects (only ``object_name``'s if given)."""
    rows = db.execute(LOAD, {"connection_id": connection_id, "object": object_name}).fetchall()
    return {
        r["object"]: ObjectFields.from_json(r["object"], r["definitions"], r["fetched_at"])
        for r in rows
    }


def save_for_connection(
    db: psycopg.Connection[Row], connection_name: str, definitions: Mapping[str, ObjectFields]
) -> None:
    """Cache ``definitions`` for the stored connection called ``connection_name``."""
    row = db.execute(
        "SELECT id FROM syncsvc.connection WHERE name = %s", (connection_name,)
    ).fetchone()
    if row is None:
        raise ConfigError(f"no connection named {connection_name!r}")
    for fields in definitions.values():
        save_fields(db, row["id"], fields)
