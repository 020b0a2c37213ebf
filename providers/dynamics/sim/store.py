"""Rows of one table in the simulated environment. Callers hold the simulator's lock."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from providers.dynamics.odata import Key
from providers.dynamics.sim.annotations import Wanted, none
from providers.dynamics.sim.schema import Attribute, KeyDef, TableDef

Index = dict[tuple[str, ...], dict[tuple[str, ...], str]]
Snapshot = tuple[dict[str, "Record"], Index, list[tuple[str, int]]]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION_PROPERTY = "Microsoft.Dynamics.CRM.associatednavigationproperty"


@dataclass(frozen=True)
class Lookup:
    """The record a lookup column names, and the navigation property that bound it."""

    nav: str
    target_set: str
    target_logical: str
    target_id: str


Lookups = Mapping[str, Lookup | None]
"""Lookup column → the record it names now (None: emptied)."""
NO_LOOKUPS: Lookups = MappingProxyType({})


@dataclass
class Record:
    id: str
    values: dict[str, Any]
    created_on: str
    modified_on: str
    version: int
    lookups: dict[str, Lookup] = field(default_factory=dict)
    """Lookup columns set with ``@odata.bind``, read back as ``_<column>_value``."""

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'


class BadKey(Exception):
    """A key segment that names no alternate key of the table."""


class TableStore:
    def __init__(
        self, table: TableDef, versions: itertools.count[int], ack_key: str | None = None
    ) -> None:
        self.table = table
        self.versions = versions
        self.ack_key = ack_key
        """The column whose value acknowledgements and ``/_sim/view`` show as the record's key
        (default: the column of the first single-column alternate key)."""
        self.records: dict[str, Record] = {}
        self.indexes: Index = {key: {} for key in table.active_keys}
        self.deleted: list[tuple[str, int]] = []
        """(id, version) of every record deleted, for change tracking."""

    # definitions -------------------------------------------------------------------------
    def add_attribute(self, attribute: Attribute) -> None:
        self.table = self.table.with_attributes([attribute])

    def add_key(self, key: KeyDef) -> KeyDef:
        """A new alternate key; its index is built now (Failed when values repeat)."""
        index: dict[tuple[str, ...], str] = {}
        for record in self.records.values():
            if all(record.values.get(c) not in (None, "") for c in key.columns):
                values = tuple(str(record.values[c]) for c in key.columns)
                if values in index:
                    key = KeyDef(key.name, key.columns, "Failed")
                    break
                index[values] = record.id
        self.table = self.table.with_key(key)
        if key.status == "Active":
            self.indexes[key.columns] = index
        return key

    # reading -----------------------------------------------------------------------------
    def key_columns(self, key: Mapping[str, Any]) -> tuple[str, ...]:
        columns = tuple(sorted(key))
        for defined in self.indexes:
            if tuple(sorted(defined)) == columns:
                return defined
        raise BadKey(
            f"The key attributes {', '.join(columns)} are not defined as an alternate key for "
            f"the {self.table.logical_name} table."
        )

    def find(self, key: Key) -> Record | None:
        if isinstance(key, str):
            return self.records.get(key.lower())
        columns = self.key_columns(key)
        owner = self.indexes[columns].get(tuple(str(key[c]) for c in columns))
        return self.records.get(owner) if owner is not None else None

    def conflict(self, values: Mapping[str, Any], record_id: str | None) -> tuple[str, ...] | None:
        """The alternate key (columns) whose values already belong to another record."""
        for columns, index in self.indexes.items():
            merged = dict(self.records[record_id].values) if record_id in self.records else {}
            merged.update(values)
            if any(merged.get(c) in (None, "") for c in columns):
                continue
            owner = index.get(tuple(str(merged[c]) for c in columns))
            if owner is not None and owner != record_id:
                return columns
        return None

    # writing -----------------------------------------------------------------------------
    def _unindex(self, record: Record) -> None:
        for columns, index in self.indexes.items():
            if all(record.values.get(c) not in (None, "") for c in columns):
                index.pop(tuple(str(record.values[c]) for c in columns), None)

    def _index(self, record: Record) -> None:
        for columns, index in self.indexes.items():
            if all(record.values.get(c) not in (None, "") for c in columns):
                index[tuple(str(record.values[c]) for c in columns)] = record.id

    def _apply(self, record: Record, values: Mapping[str, Any], lookups: Lookups) -> None:
        self._unindex(record)
        for name, value in values.items():
            if value is None:
                record.values.pop(name, None)
            else:
                record.values[name] = value
        for column, lookup in lookups.items():
            if lookup is None:
                record.lookups.pop(column, None)
            else:
                record.lookups[column] = lookup
        if self.table.logical_name == "contact":
            parts = [record.values.get("firstname"), record.values.get("lastname")]
            record.values["fullname"] = " ".join(str(p) for p in parts if p)
        record.version = next(self.versions)
        self._index(record)

    def create(
        self, values: Mapping[str, Any], record_id: str | None = None, lookups: Lookups = NO_LOOKUPS
    ) -> Record:
        stamp = now_iso()
        record = Record(record_id or str(uuid.uuid4()), {}, stamp, stamp, 0)
        self._apply(record, values, lookups)
        self.records[record.id] = record
        return record

    def update(
        self, record: Record, values: Mapping[str, Any], lookups: Lookups = NO_LOOKUPS
    ) -> None:
        """A change of columns or lookups: a new version (change tracking reports the row)."""
        self._apply(record, values, lookups)
        record.modified_on = now_iso()

    def delete(self, record: Record) -> None:
        self._unindex(record)
        del self.records[record.id]
        self.deleted.append((record.id, next(self.versions)))

    def snapshot(self) -> Snapshot:
        return copy.deepcopy((self.records, self.indexes, self.deleted))

    def restore(self, snapshot: Snapshot) -> None:
        self.records, self.indexes, self.deleted = snapshot

    # shapes ------------------------------------------------------------------------------
    def native(
        self, record: Record, select: Iterable[str] | None = None, annotations: Wanted = none
    ) -> dict[str, Any]:
        """The record as the Web API returns it (``$select`` limits the columns; a lookup is
        its ``_<column>_value``, null when empty, with the ``annotations`` asked for)."""
        full = {
            **record.values,
            "createdon": record.created_on,
            "modifiedon": record.modified_on,
        }
        lookups = {f"_{c}_value": (c, lookup) for c, lookup in record.lookups.items()}
        full.update({name: lookup.target_id for name, (_, lookup) in lookups.items()})
        empty = {f"_{a.name}_value" for a in self.table.attributes if a.targets} - set(lookups)
        if select is not None:
            chosen = set(select)
            full = {k: v for k, v in full.items() if k in chosen}
            empty &= chosen
        full.update(dict.fromkeys(sorted(empty)))
        for name, (_, lookup) in lookups.items():
            if name not in full:
                continue
            if annotations(NAVIGATION_PROPERTY):
                full[f"{name}@{NAVIGATION_PROPERTY}"] = lookup.nav
            if annotations(LOGICAL_NAME):
                full[f"{name}@{LOGICAL_NAME}"] = lookup.target_logical
        return {"@odata.etag": record.etag, self.table.primary_key: record.id, **full}

    def key_of(self, record: Record) -> str | None:
        column = self.ack_key or next((k[0] for k in self.indexes if len(k) == 1), None)
        value = record.values.get(column) if column else None
        return None if value is None else str(value)
