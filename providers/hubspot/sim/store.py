"""Records of one object type in the simulated account. Callers hold the simulator's lock."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.hubspot.sim.schema import Invalid, check_value, stored_value

_LABELS = {"contacts": "Contact", "companies": "Company", "deals": "Deal"}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate"}
"""Contacts call it ``lastmodifieddate``; other objects ``hs_lastmodifieddate``."""
ChangeHook = Callable[[str, str, str, Mapping[str, str]], None]
"""``(object, record id, action, changed properties)``; action is ``creation``,
``propertyChange`` or ``deletion`` (what the webhook subscription reports)."""
IDENTITY = {"contacts": frozenset({"email"})}
"""Properties that identify records without ``hasUniqueValue``: HubSpot dedupes contacts by
email and takes ``idProperty: email`` in batch upserts."""


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Record:
    id: str
    properties: dict[str, str]
    created_at: str
    updated_at: str
    archived_at: str | None = None
    """When it went to the recycle bin (None: it is active)."""

    def view(self, only: Iterable[str] | None = None, **extra: Any) -> dict[str, Any]:
        """The record as a ``SimplePublicObject`` (an archived one with ``archivedAt``)."""
        properties = self.properties
        if only is not None:
            wanted = set(only) | {"hs_object_id", "createdate"}
            properties = {k: v for k, v in properties.items() if k in wanted}
        stamps = {"archivedAt": self.archived_at} if self.archived_at else {}
        return {
            "id": self.id,
            "properties": dict(properties),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": self.archived_at is not None,
            **stamps,
            **extra,
        }


class ObjectStore:
    def __init__(
        self,
        object_name: str,
        properties: Iterable[Mapping[str, Any]],
        ids: itertools.count[int],
        strict_options: bool = True,
    ) -> None:
        self.object_name = object_name
        self.definitions = {str(p["name"]): copy.deepcopy(dict(p)) for p in properties}
        self.records: dict[str, Record] = {}
        self.archived: dict[str, Record] = {}
        """The recycle bin: archived records, by id (HubSpot keeps them 90 days; here, until
        a reset). Nothing but the archived list and reads with ``archived=true`` sees them."""
        self.unique: dict[str, dict[str, str]] = {}
        self.ids = ids
        self.strict_options = strict_options
        self.modified_property = MODIFIED_PROPERTY.get(object_name, "hs_lastmodifieddate")
        self.on_change: ChangeHook | None = None
        self._index_unique()

    @property
    def label(self) -> str:
        return _LABELS.get(self.object_name, self.object_name)

    def _index_unique(self) -> None:
        for name, definition in self.definitions.items():
            if definition.get("hasUniqueValue") or name in IDENTITY.get(self.object_name, ()):
                self.unique.setdefault(name, {})

    def add_property(self, definition: dict[str, Any]) -> None:
        self.definitions[str(definition["name"])] = definition
        self._index_unique()

    def is_unique(self, name: str) -> bool:
        return name in self.unique

    # reading -----------------------------------------------------------------------------
    @staticmethod
    def normalize(name: str, value: str) -> str:
        return value.strip().lower() if name == "email" else value

    def find(self, value: str, id_property: str | None = None) -> Record | None:
        if not id_property or id_property == "hs_object_id":
            return self.records.get(str(value))
        owner = self.unique.get(id_property, {}).get(self.normalize(id_property, str(value)))
        return self.records.get(owner) if owner is not None else None

    def check(self, properties: Mapping[str, Any]) -> list[Invalid]:
        """Every property in ``properties`` that cannot be written as given."""
        problems: list[Invalid] = []
        for name, value in properties.items():
            definition = self.definitions.get(name)
            if definition is None:
                problems.append(
                    Invalid(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
            elif definition["modificationMetadata"]["readOnlyValue"]:
                problems.append(
                    Invalid(name, "READ_ONLY_VALUE", f'Property "{name}" is a read only property')
                )
            elif not isinstance(value, str):
                problems.append(Invalid(name, "INVALID_TYPE", f"{value!r} is not a string value"))
            else:
                problem = check_value(definition, value, self.strict_options)
                if problem is not None:
                    problems.append(problem)
        return problems

    def conflict(
        self, properties: Mapping[str, str], record_id: str | None
    ) -> tuple[str, str] | None:
        """``(property, owner id)`` when a unique value belongs to another record."""
        for name in self.unique.keys() & properties.keys():
            owner = self.unique[name].get(self.normalize(name, properties[name]))
            if owner is not None and owner != record_id:
                return name, owner
        return None

    # writing -----------------------------------------------------------------------------
    def _apply(self, record: Record, properties: Mapping[str, str]) -> None:
        for name, raw in properties.items():
            definition = self.definitions.get(name)
            value = self.normalize(name, raw)
            if definition is not None:
                value = stored_value(definition, value)
            old = record.properties.get(name)
            if name in self.unique and old is not None:
                self.unique[name].pop(old, None)
            if value == "":
                record.properties.pop(name, None)
                continue
            record.properties[name] = value
            if name in self.unique:
                self.unique[name][value] = record.id

    def create(self, properties: Mapping[str, str]) -> Record:
        stamp = now_iso()
        record_id = str(next(self.ids))
        record = Record(record_id, {}, stamp, stamp)
        self._apply(record, properties)
        record.properties.update(
            {"hs_object_id": record_id, "createdate": stamp, self.modified_property: stamp}
        )
        self.records[record_id] = record
        self._changed(record_id, "creation", record.properties)
        return record

    def update(self, record: Record, properties: Mapping[str, str]) -> None:
        before = dict(record.properties)
        self._apply(record, properties)
        record.updated_at = record.properties[self.modified_property] = now_iso()
        changed = {
            k: record.properties.get(k, "")
            for k in properties
            if record.properties.get(k, "") != before.get(k, "")
        }
        if changed:
            self._changed(record.id, "propertyChange", changed)

    def _changed(self, record_id: str, action: str, changed: Mapping[str, str]) -> None:
        if self.on_change is not None:
            self.on_change(self.object_name, record_id, action, changed)

    def modified_ms(self, record: Record) -> int:
        stamp = record.properties.get(self.modified_property) or record.updated_at
        return int(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)

    def archive(self, record: Record) -> None:
        for name in self.unique:
            value = record.properties.get(name)
            if value is not None:
                self.unique[name].pop(value, None)
        del self.records[record.id]
        record.archived_at = now_iso()
        self.archived[record.id] = record
        self._changed(record.id, "deletion", {})

    def clear(self) -> None:
        self.records.clear()
        self.archived.clear()
        for index in self.unique.values():
            index.clear()
