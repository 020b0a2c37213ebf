"""Field definitions of the simulated account: the standard fields of each object and custom
fields with 40-character keys, in the ``GET /v1/{object}Fields`` shape."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from providers.pipedrive.defaults import KEY_FIELD, OBJECTS

STAMP = "2024-01-01 00:00:00"
FIELD_TYPES = frozenset(
    {"varchar", "varchar_auto", "text", "double", "monetary", "enum", "set", "user", "org"}
    | {"people", "phone", "date", "daterange", "time", "timerange", "address"}
)
SEARCHABLE_TYPES = frozenset(
    {"address", "varchar", "text", "varchar_auto", "double", "monetary", "phone"}
)
"""Custom field types the search endpoints look in (Pipedrive's documented list)."""

# v1 keys, names, types; the v1 list names person emails/phones ``email``/``phone``.
_STANDARD: dict[str, list[tuple[str, str, str]]] = {
    "persons": [
        ("id", "ID", "int"),
        ("name", "Name", "varchar"),
        ("first_name", "First name", "varchar"),
        ("last_name", "Last name", "varchar"),
        ("owner_id", "Owner", "user"),
        ("org_id", "Organization", "org"),
        ("email", "Email", "varchar"),
        ("phone", "Phone", "phone"),
        ("visible_to", "Visible to", "visible_to"),
        ("label_ids", "Labels", "set"),
        ("add_time", "Person created", "date"),
        ("update_time", "Update time", "date"),
    ],
    "organizations": [
        ("id", "ID", "int"),
        ("name", "Name", "varchar"),
        ("owner_id", "Owner", "user"),
        ("address", "Address", "address"),
        ("website", "Website", "varchar"),
        ("visible_to", "Visible to", "visible_to"),
        ("label_ids", "Labels", "set"),
        ("add_time", "Organization created", "date"),
        ("update_time", "Update time", "date"),
    ],
    "deals": [
        ("id", "ID", "int"),
        ("title", "Title", "varchar"),
        ("value", "Value", "monetary"),
        ("currency", "Currency", "varchar_options"),
        ("status", "Status", "status"),
        ("pipeline_id", "Pipeline", "double"),
        ("stage_id", "Stage", "stage"),
        ("person_id", "Contact person", "people"),
        ("org_id", "Organization", "org"),
        ("owner_id", "Owner", "user"),
        ("probability", "Probability", "double"),
        ("lost_reason", "Lost reason", "varchar"),
        ("expected_close_date", "Expected close date", "date"),
        ("visible_to", "Visible to", "visible_to"),
        ("add_time", "Deal created", "date"),
        ("update_time", "Update time", "date"),
    ],
}
MANDATORY = {"persons": "name", "organizations": "name", "deals": "title"}

DEFAULT_CUSTOM: dict[str, list[Any]] = {
    "persons": [KEY_FIELD, "lifecycle_stage"],
    "organizations": [KEY_FIELD],
    "deals": [KEY_FIELD],
}
"""Custom fields every simulated account has: our key field, plus what the demo maps."""


def custom_key(object_name: str, name: str) -> str:
    """A 40-character key, stable across restarts (real keys are random per account)."""
    return hashlib.sha1(f"syncsvc-sim:{object_name}:{name}".encode()).hexdigest()  # noqa: S324


def _entry(
    number: int, key: str, name: str, field_type: str, custom: bool, mandatory: bool
) -> dict[str, Any]:
    return {
        "id": number,
        "key": key,
        "name": name,
        "order_nr": number,
        "field_type": field_type,
        "add_time": STAMP,
        "update_time": STAMP,
        "last_updated_by_user_id": None,
        "active_flag": True,
        "edit_flag": custom,
        "index_visible_flag": True,
        "details_visible_flag": True,
        "add_visible_flag": True,
        "important_flag": False,
        "bulk_edit_allowed": True,
        "searchable_flag": custom and field_type in SEARCHABLE_TYPES,
        "filtering_allowed": True,
        "sortable_flag": True,
        "mandatory_flag": mandatory,
    }


class FieldSet:
    """The fields of one object. Callers hold the simulator's lock."""

    def __init__(self, object_name: str, custom: Iterable[Any]) -> None:
        self.object_name = object_name
        self.entries: list[dict[str, Any]] = [
            _entry(i, key, name, kind, False, MANDATORY[object_name] == key)
            for i, (key, name, kind) in enumerate(_STANDARD[object_name], start=1)
        ]
        self.custom: dict[str, dict[str, Any]] = {}
        for spec in custom:
            name = spec if isinstance(spec, str) else str(spec["name"])
            kind = "varchar" if isinstance(spec, str) else str(spec.get("field_type", "varchar"))
            if self.by_name(name) is None:
                self.add(name, kind)

    def add(self, name: str, field_type: str) -> dict[str, Any]:
        if field_type not in FIELD_TYPES:
            raise ValueError(f"unknown field_type {field_type!r}")
        key = custom_key(self.object_name, name)
        if key in self.custom:
            raise ValueError(f"a {self.object_name} field named {name!r} exists already")
        entry = _entry(1000 + len(self.entries), key, name, field_type, True, False)
        self.entries.append(entry)
        self.custom[key] = entry
        return entry

    def by_name(self, name: str) -> str | None:
        return next((k for k, e in self.custom.items() if e["name"] == name), None)

    def type_of(self, key: str) -> str:
        return str(self.custom[key]["field_type"])


def new_field_sets(custom: Mapping[str, Iterable[Any]] | None) -> dict[str, FieldSet]:
    extra = custom or {}
    return {name: FieldSet(name, [*DEFAULT_CUSTOM[name], *extra.get(name, [])]) for name in OBJECTS}
