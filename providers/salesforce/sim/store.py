"""Records of one sObject type in the simulated org. Callers hold the simulator's lock."""

from __future__ import annotations

import datetime as dt
import itertools
import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from providers.salesforce.sim.schema import FieldDef

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
SUFFIX = string.ascii_uppercase + "012345"


def now_iso() -> str:
    """Salesforce's date-time format, ``2024-05-01T12:30:00.000+0000``: whole seconds, as the
    org stores date-times (SOQL date-time literals have no fraction either)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".000+0000"


def id18(id15: str) -> str:
    """Salesforce's case-safe 18-character id: 3 checksum characters for the 15-character one."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, c in enumerate(id15[start : start + 5]) if c.isupper())
        suffix += SUFFIX[bits]
    return id15 + suffix


def new_id(prefix: str, number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return id18(prefix + "5g" + digits.rjust(10, "0"))


def is_id(value: str) -> bool:
    return len(value) in (15, 18) and value.isalnum()


@dataclass
class Record:
    id: str
    fields: dict[str, Any]


class ObjectStore:
    def __init__(
        self,
        name: str,
        prefix: str,
        plural: str,
        definitions: Mapping[str, FieldDef],
        ids: itertools.count[int],
        unique_external_ids: bool = True,
    ) -> None:
        self.name = name
        self.prefix = prefix
        self.plural = plural
        self.definitions = dict(definitions)
        self.ids = ids
        self.records: dict[str, Record] = {}
        self.deleted: dict[str, Record] = {}
        """The recycle bin (``IsDeleted`` true, ``SystemModstamp`` the deletion's time): seen by
        ``queryAll``; deleting or updating these answers ``ENTITY_IS_DELETED``."""
        self.indexed = {n for n, d in self.definitions.items() if d.external_id or d.unique}
        self.unique = {
            n
            for n, d in self.definitions.items()
            if d.unique and (unique_external_ids or not d.external_id)
        }
        self.index: dict[str, dict[str, set[str]]] = {n: {} for n in self.indexed}

    def add_field(self, definition: FieldDef, unique_external_ids: bool = True) -> None:
        """A new (custom) field: existing records hold null in it."""
        self.definitions[definition.name] = definition
        if definition.external_id or definition.unique:
            self.indexed.add(definition.name)
            self.index.setdefault(definition.name, {})
        if definition.unique and (unique_external_ids or not definition.external_id):
            self.unique.add(definition.name)

    def ack_key(self, record: Record, field: str | None) -> str:
        """What acknowledgements name a record by: ``field``'s value when the object has it,
        else its first external id field's value, else its Id."""
        names = [field] if field and field in self.definitions else []
        names += [n for n, d in self.definitions.items() if d.external_id]
        for name in names:
            value = record.fields.get(name)
            if value is not None:
                return str(value)
        return record.id

    def restrict(self, name: str, restricted: bool) -> None:
        """Make a picklist field refuse values outside its list, or accept any."""
        if name in self.definitions:
            self.definitions[name] = replace(self.definitions[name], restricted=restricted)

    # reading -----------------------------------------------------------------------------
    @staticmethod
    def fold(value: Any) -> str:
        """External ids and unique text match case-insensitively, as Salesforce's do by default."""
        return str(value).casefold()

    def get(self, record_id: str) -> Record | None:
        if len(record_id) == 15:
            record_id = id18(record_id)
        return self.records.get(record_id)

    def owns(self, record_id: str) -> bool:
        return record_id.startswith(self.prefix)

    def was_deleted(self, record_id: str) -> bool:
        return (id18(record_id) if len(record_id) == 15 else record_id) in self.deleted

    def matching(self, field: str, value: Any) -> list[Record]:
        """Records whose ``field`` equals ``value`` (indexed fields by index, others by scan)."""
        if field == "Id":
            record = self.get(str(value))
            return [record] if record else []
        if field in self.index:
            ids = self.index[field].get(self.fold(value), set())
            return [self.records[i] for i in sorted(ids)]
        return [
            r for r in self.records.values() if self.fold(r.fields.get(field)) == self.fold(value)
        ]

    def owner(self, field: str, value: Any, other_than: str | None) -> str | None:
        """The id of another record already holding a unique ``value``."""
        if field not in self.unique or value is None:
            return None
        for record_id in sorted(self.index[field].get(self.fold(value), set())):
            if record_id != other_than:
                return record_id
        return None

    # writing -----------------------------------------------------------------------------
    def _apply(self, record: Record, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            old = record.fields.get(name)
            if name in self.index and old is not None:
                self.index[name].get(self.fold(old), set()).discard(record.id)
            record.fields[name] = value
            if name in self.index and value is not None:
                self.index[name].setdefault(self.fold(value), set()).add(record.id)
        self._derive(record)
        record.fields["LastModifiedDate"] = record.fields["SystemModstamp"] = now_iso()

    def _derive(self, record: Record) -> None:
        fields = record.fields
        if self.name in ("Contact", "Lead"):
            parts = (fields.get("FirstName"), fields.get("LastName"))
            fields["Name"] = " ".join(str(p) for p in parts if p)
        if self.name == "Opportunity":
            stage = fields.get("StageName")
            fields["IsClosed"] = stage in ("Closed Won", "Closed Lost")
            fields["IsWon"] = stage == "Closed Won"

    def create(self, values: Mapping[str, Any]) -> Record:
        record_id = new_id(self.prefix, next(self.ids))
        stamp = now_iso()
        record = Record(record_id, {"Id": record_id, "IsDeleted": False, "CreatedDate": stamp})
        self.records[record_id] = record
        self._apply(record, values)
        return record

    def update(self, record: Record, values: Mapping[str, Any]) -> None:
        self._apply(record, values)

    def delete(self, record: Record) -> None:
        for name in self.index:
            value = record.fields.get(name)
            if value is not None:
                self.index[name].get(self.fold(value), set()).discard(record.id)
        del self.records[record.id]
        record.fields["IsDeleted"] = True
        record.fields["SystemModstamp"] = now_iso()
        self.deleted[record.id] = record

    # shapes ------------------------------------------------------------------------------
    def url(self, version: str, record_id: str) -> str:
        return f"/services/data/{version}/sobjects/{self.name}/{record_id}"

    def native(self, record: Record, version: str, only: list[str] | None = None) -> dict[str, Any]:
        """The record as the REST API returns it: ``attributes`` then the fields."""
        names = only if only is not None else list(self.definitions)
        body: dict[str, Any] = {
            "attributes": {"type": self.name, "url": self.url(version, record.id)}
        }
        body.update({n: record.fields.get(n) for n in names})
        return body
