"""Config fragments the integration tests build connections from."""

from __future__ import annotations

from typing import Any


def synced_rules(table: str, obj: str, when: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The usual pair for one table: upsert inserts and updates (optionally only ``when``),
    archive deletes; both keyed by ``syncsvc_id``."""
    upsert: dict[str, Any] = {
        "name": obj,
        "source": table,
        "operations": ["insert", "update"],
        "action": "upsert",
        "object": obj,
        "id_property": "syncsvc_id",
    }
    if when:
        upsert["when"] = when
    archive = {
        "name": f"{obj}-deleted",
        "source": table,
        "operations": ["delete"],
        "action": "archive",
        "object": obj,
        "id_property": "syncsvc_id",
    }
    return [upsert, archive]
