"""Records of one module in the simulated Zoho org. Callers hold the simulator's lock."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.zoho.sim.schema import (
    NONE_OPTION,
    SYSTEM_DUPLICATE_CHECK,
    check_value,
    error,
    standard_fields,
)

USER = {"name": "Sim Admin", "id": "5725767000000411001"}


def now_iso() -> str:
    """Zoho's date-time format: seconds and an offset."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass
class Record:
    id: str
    fields: dict[str, Any]
    created: str
    modified: str

    def system(self) -> dict[str, Any]:
        return {
            "Created_Time": self.created,
            "Modified_Time": self.modified,
            "Created_By": dict(USER),
            "Modified_By": dict(USER),
        }

    def native(self) -> dict[str, Any]:
        """The record as ``GET /{module}/{id}`` returns it."""
        return {"id": self.id, "Owner": dict(USER), **copy.deepcopy(self.fields), **self.system()}


class ModuleStore:
    def __init__(self, module: str, ids: itertools.count[int], strict_fields: bool = True) -> None:
        self.module = module
        self.definitions = {str(f["api_name"]): f for f in standard_fields(module)}
        self.records: dict[str, Record] = {}
        self.unique: dict[str, dict[str, str]] = {
            name: {} for name, f in self.definitions.items() if f["unique"]
        }
        self.ids = ids
        self.strict_fields = strict_fields
        self.deleted: list[tuple[str, str]] = []
        """(id, deleted time) of every record deleted, oldest first: the recycle bin."""
        self.on_change: Callable[[str, Record, str], None] | None = None
        """Called with (module, record, operation) after every insert, update and delete."""
        self.display_name: Callable[[str, str], str | None] = lambda field, record_id: None
        """The name a lookup ``field`` shows for the record it names (``{"name", "id"}``)."""

    def add_field(self, definition: dict[str, Any]) -> None:
        """A new (custom) field; existing records hold no value for it."""
        name = str(definition["api_name"])
        self.definitions[name] = definition
        if definition["unique"]:
            self.unique.setdefault(name, {})

    def clear(self) -> None:
        """Forget every record; the fields (custom ones included) stay, as in a real org."""
        self.records.clear()
        self.deleted.clear()
        for index in self.unique.values():
            index.clear()

    @property
    def duplicate_check_fields(self) -> list[str]:
        """What an upsert may match on: the system-defined field, then unique fields."""
        return [SYSTEM_DUPLICATE_CHECK[self.module], *self.unique]

    def mandatory(self) -> list[str]:
        return [n for n, f in self.definitions.items() if f["system_mandatory"]]

    # reading -----------------------------------------------------------------------------
    def get(self, record_id: Any) -> Record | None:
        return self.records.get(str(record_id))

    def match(self, fields: Mapping[str, Any], order: list[str]) -> tuple[Record, str] | None:
        """The existing record an upsert updates, and the field it matched on."""
        for name in order:
            value = fields.get(name)
            if value in (None, ""):
                continue
            if name in self.unique:
                owner = self.unique[name].get(str(value))
                if owner is not None:
                    return self.records[owner], name
                continue
            for record in self.records.values():
                if str(record.fields.get(name, "")).lower() == str(value).lower():
                    return record, name
        return None

    def check(
        self, fields: Mapping[str, Any], index: int, existing: Record | None
    ) -> list[dict[str, Any]]:
        """Every reason Zoho refuses ``fields`` (for an insert when ``existing`` is None)."""
        problems: list[dict[str, Any]] = []
        for name, value in fields.items():
            definition = self.definitions.get(name)
            if definition is None:
                if self.strict_fields:
                    message = "the field api name given seems to be invalid"
                    problems.append(error("INVALID_DATA", message, name, index))
                continue
            if not definition["operation_type"]["api_create" if existing is None else "api_update"]:
                problems.append(error("INVALID_DATA", "the field is read only", name, index))
                continue
            problem = check_value(definition, value, index)
            if problem is not None:
                problems.append(problem)
        for name in self.mandatory():
            missing = (
                fields.get(name) in (None, "")
                if existing is None
                else (name in fields and fields[name] in (None, ""))
            )
            if missing:
                problems.append(
                    error("MANDATORY_NOT_FOUND", "required field not found", name, index)
                )
        return problems

    def conflict(
        self, fields: Mapping[str, Any], record_id: str | None, index: int
    ) -> dict[str, Any] | None:
        """The ``DUPLICATE_DATA`` entry when a unique value belongs to another record."""
        for name in self.unique.keys() & fields.keys():
            owner = self.unique[name].get(str(fields[name]))
            if owner is not None and owner != record_id:
                duplicate = {"Owner": {**USER, "zuid": "75092197"}, "id": owner}
                return error(
                    "DUPLICATE_DATA", "duplicate data", name, index,
                    duplicate_record=duplicate, id=owner, more_records=False,
                )  # fmt: skip
        return None

    # writing -----------------------------------------------------------------------------
    def _apply(self, record: Record, fields: Mapping[str, Any]) -> None:
        for name, value in fields.items():
            if name == "id" or name not in self.definitions:
                continue
            old = record.fields.get(name)
            if name in self.unique and old is not None:
                self.unique[name].pop(str(old), None)
            if value is None or value == "" or value == NONE_OPTION or value == []:
                if self.definitions[name]["data_type"] == "boolean":
                    record.fields[name] = False  # a checkbox is never empty, only unticked
                else:
                    record.fields.pop(name, None)
                continue
            if self.definitions[name]["data_type"] == "lookup" and isinstance(value, dict):
                value = {
                    "name": self.display_name(name, str(value.get("id"))),
                    "id": value.get("id"),
                }
            record.fields[name] = copy.deepcopy(value)
            if name in self.unique:
                self.unique[name][str(value)] = record.id

    def insert(self, fields: Mapping[str, Any]) -> Record:
        stamp = now_iso()
        record = Record(str(5725767 * 10**12 + next(self.ids)), {}, stamp, stamp)
        self._apply(record, fields)
        self.records[record.id] = record
        self._changed(record, "insert")
        return record

    def update(self, record: Record, fields: Mapping[str, Any]) -> None:
        self._apply(record, fields)
        record.modified = now_iso()
        self._changed(record, "update")

    def _changed(self, record: Record, operation: str) -> None:
        if self.on_change is not None:
            self.on_change(self.module, record, operation)

    def delete(self, record: Record) -> None:
        for name, index in self.unique.items():
            value = record.fields.get(name)
            if value is not None:
                index.pop(str(value), None)
        del self.records[record.id]
        self.deleted.append((record.id, now_iso()))
        self._changed(record, "delete")
