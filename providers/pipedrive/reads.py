"""Reading records back by our key. Pipedrive has no batch read: one search per value (through
the search burst window), then the record itself for its custom fields, flattened to the
outbox payload's shape (``emails``/``phones`` as their primary value, custom fields by name)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from providers.pipedrive.fields import CONTACT_LISTS, ObjectFields

MAX_READS = 10
"""Values one ``read_by_key`` call looks up at most: each costs a search (the search window
allows 10 per 2 s) and a record read."""


def _plain(value: Any) -> Any:
    """A structured value as the payload holds it: the primary (else first) entry's value."""
    if isinstance(value, list):
        entries = [v for v in value if isinstance(v, dict)]
        primary = next((v for v in entries if v.get("primary")), entries[0] if entries else None)
        return None if primary is None else primary.get("value")
    if isinstance(value, dict) and "value" in value:
        return value.get("value")
    return value


def flatten(
    fields: ObjectFields, record: Mapping[str, Any], names: Sequence[str]
) -> dict[str, Any]:
    """``names`` of a v2 record: standard fields as they are (contact lists and addresses as
    plain values), custom fields looked up by name under ``custom_fields``."""
    custom = record.get("custom_fields") or {}
    out: dict[str, Any] = {}
    for name in names:
        if name in fields.standard:
            value = record.get(name)
            out[name] = _plain(value) if name in CONTACT_LISTS or name == "address" else value
            continue
        key = fields.custom_key(name)
        out[name] = _plain(custom.get(key)) if key and isinstance(custom, dict) else None
    return out
