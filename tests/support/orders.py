"""A table the demo never had: orders keyed by ``(region, order_no)``, captured, and a HubSpot
connection that upserts each as a contact keyed ``region-order_no``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from syncsvc import capture
from syncsvc.db import Row


@contextmanager
def orders_table(db: psycopg.Connection[Row], table: str, columns: str) -> Iterator[None]:
    """``table`` (``SCHEMA.TABLE``, its schema made for it) with ``region``, ``order_no`` as its
    key and ``columns`` (a constant DDL fragment) beside them, captured; dropped afterwards."""
    schema_name, table_name = table.split(".")
    schema = sql.Identifier(schema_name)
    db.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
    db.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    db.execute(
        sql.SQL(
            "CREATE TABLE {} (region text NOT NULL, order_no integer NOT NULL, {}, "
            "PRIMARY KEY (region, order_no))"
        ).format(sql.Identifier(schema_name, table_name), sql.SQL(columns))
    )
    capture.add_capture(db, table, notify="always")
    yield
    capture.remove_capture(db, table)
    db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


def orders_config(config: dict[str, Any], table: str) -> dict[str, Any]:
    """``config`` (a HubSpot connection) rewritten to upsert ``table``'s orders as contacts."""
    connection = config["connections"][0]
    connection["objects"] = {
        "contacts": {
            "mappings": [
                {"template": "{region}-{order_no}", "target": "syncsvc_id"},
                {"source": "email", "target": "email", "required": True},
            ]
        }
    }
    connection["rules"] = [
        {
            "name": "orders",
            "source": table,
            "operations": ["insert", "update"],
            "action": "upsert",
            "object": "contacts",
            "id_property": "syncsvc_id",
        }
    ]
    return config
