"""Field definitions of the simulated account, in the ``GET /v1/{object}Fields`` shape.

The standard fields of each object come from the data files next to this module
(``fields/<object>.json``: key, name, field_type, options as Pipedrive lists them). Custom fields
get 40-character keys and are added through ``POST /v1/{object}Fields`` or the simulator's
``custom_fields`` option (``{object: [name | {"name", "field_type", "options": [label, …]}]}``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

OBJECTS = ("persons", "organizations", "deals")
DATA_DIR = Path(__file__).resolve().parent / "fields"
STAMP = "2024-01-01 00:00:00"
CUSTOM_TYPES = frozenset(
    {"varchar", "varchar_auto", "text", "double", "monetary", "enum", "set", "user", "org"}
    | {"people", "phone", "date", "daterange", "time", "timerange", "address"}
)
"""The ``field_type`` values ``POST /v1/{object}Fields`` takes (Pipedrive's 16 custom types)."""
OPTION_TYPES = frozenset({"enum", "set"})
SEARCHABLE_TYPES = frozenset(
    {"address", "varchar", "text", "varchar_auto", "double", "monetary", "phone"}
)
"""Custom field types the search endpoints look in (Pipedrive's documented list)."""
MAX_OPTIONS = 500


@cache
def standard_fields(object_name: str) -> tuple[dict[str, Any], ...]:
    """The standard fields of ``object_name`` from its data file."""
    with (DATA_DIR / f"{object_name}.json").open(encoding="utf-8") as data:
        rows: list[dict[str, Any]] = json.load(data)
    return tuple(rows)


def custom_key(object_name: str, name: str) -> str:
    """A 40-character key, stable across restarts (real keys are random per account)."""
    return hashlib.sha1(f"syncsvc-sim:{object_name}:{name}".encode()).hexdigest()  # noqa: S324


def _entry(number: int, spec: Mapping[str, Any], custom: bool) -> dict[str, Any]:
    field_type = str(spec["field_type"])
    entry: dict[str, Any] = {
        "id": None if spec.get("is_subfield") else number,
        "key": spec["key"],
        "name": spec["name"],
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
        "mandatory_flag": bool(spec.get("mandatory_flag", False)),
    }
    if spec.get("is_subfield"):
        entry["is_subfield"] = True
    if spec.get("options") is not None:
        entry["options"] = [dict(o) for o in spec["options"]]
    return entry


class FieldSet:
    """The fields of one object. Callers hold the simulator's lock."""

    def __init__(
        self, object_name: str, custom: Iterable[Any], option_ids: Iterator[int] | None = None
    ) -> None:
        self.object_name = object_name
        self.option_ids = option_ids or itertools.count(1000)
        self.entries: list[dict[str, Any]] = [
            _entry(i, spec, False) for i, spec in enumerate(standard_fields(object_name), 1)
        ]
        self.standard = {e["key"]: e for e in self.entries}
        self.custom: dict[str, dict[str, Any]] = {}
        for spec in custom:
            if isinstance(spec, str):
                spec = {"name": spec}
            if self.by_name(str(spec["name"])) is None:
                self.add(
                    str(spec["name"]),
                    str(spec.get("field_type", "varchar")),
                    spec.get("options"),
                )

    def add(self, name: str, field_type: str, options: Any = None) -> dict[str, Any]:
        """A new custom field; ``ValueError`` says why not (Pipedrive's wording where known)."""
        if field_type not in CUSTOM_TYPES:
            raise ValueError(f"Field type is not valid: {field_type!r}")
        if not name.strip():
            raise ValueError("Field name is required")
        labels = self._labels(field_type, options)
        key = custom_key(self.object_name, name)
        if key in self.custom:
            raise ValueError(f"A {self.object_name} field named {name!r} exists already")
        spec: dict[str, Any] = {"key": key, "name": name, "field_type": field_type}
        if labels is not None:
            spec["options"] = [{"id": next(self.option_ids), "label": label} for label in labels]
        entry = _entry(1000 + len(self.entries), spec, True)
        self.entries.append(entry)
        self.custom[key] = entry
        return entry

    @staticmethod
    def _labels(field_type: str, options: Any) -> list[str] | None:
        if field_type not in OPTION_TYPES:
            return None
        if isinstance(options, str):  # the API takes a JSON-encoded array too
            options = json.loads(options)
        if not isinstance(options, list) or not options:
            raise ValueError("Options are required for fields of type enum or set")
        labels = [str(o["label"] if isinstance(o, Mapping) else o) for o in options]
        if len(labels) > MAX_OPTIONS:
            raise ValueError(f"A field can have at most {MAX_OPTIONS} options")
        return labels

    def by_name(self, name: str) -> str | None:
        return next((k for k, e in self.custom.items() if e["name"] == name), None)

    def type_of(self, key: str) -> str:
        return str(self.custom[key]["field_type"])

    def option_ids_of(self, key: str) -> set[Any]:
        """The option ids of the field ``key`` (custom or standard)."""
        entry = self.custom.get(key) or self.standard.get(key) or {}
        return {o["id"] for o in entry.get("options") or ()}


def new_field_sets(custom: Mapping[str, Iterable[Any]] | None) -> dict[str, FieldSet]:
    extra = custom or {}
    unknown = sorted(set(extra) - set(OBJECTS))
    if unknown:
        raise ValueError(f"custom_fields: unknown object(s) {unknown} (known: {OBJECTS})")
    option_ids = itertools.count(1000)  # option ids are unique across the account
    return {name: FieldSet(name, extra.get(name, []), option_ids) for name in OBJECTS}
