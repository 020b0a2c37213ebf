"""Records of one object type in the simulated account. Callers hold the simulator's lock."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.pipedrive.sim.fields import SEARCHABLE_TYPES, FieldSet
from providers.pipedrive.sim.index import SearchIndex

ITEM_TYPES = {"persons": "person", "organizations": "organization", "deals": "deal"}
DEFAULTS: dict[str, dict[str, Any]] = {
    "persons": {"owner_id": 1, "org_id": None, "emails": [], "phones": [], "visible_to": 3},
    "organizations": {"owner_id": 1, "address": None, "visible_to": 3},
    "deals": {
        "owner_id": 1,
        "person_id": None,
        "org_id": None,
        "pipeline_id": 1,
        "stage_id": 1,
        "value": 0,
        "currency": "USD",
        "status": "open",
        "expected_close_date": None,
        "visible_to": 3,
    },
}
SEARCH_FIELDS = {
    "persons": {"name", "email", "phone", "notes", "custom_fields"},
    "organizations": {"name", "address", "notes", "custom_fields"},
    "deals": {"title", "notes", "custom_fields"},
}


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def scalar(value: Any) -> Any:
    """A stored value as one flat value: the primary of emails/phones, an address's value."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        primary = next((v for v in value if v.get("primary")), value[0])
        return primary.get("value")
    if isinstance(value, list) and not value:
        return None
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _texts(value: Any) -> list[str]:
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    value = scalar(value)
    if value is None:
        return []
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return [str(value)]


@dataclass
class Record:
    id: int
    fields: dict[str, Any]
    custom: dict[str, Any]
    add_time: str
    update_time: str
    is_deleted: bool = False
    written: set[str] = field(default_factory=set)
    """Standard fields a request set (the others hold Pipedrive's defaults)."""


class ObjectStore:
    def __init__(
        self,
        object_name: str,
        fields: FieldSet,
        key_field: str | None = None,
        index: SearchIndex | None = None,
    ) -> None:
        self.object_name = object_name
        self.fields = fields
        self.key_field = key_field
        """The custom field (by name) whose value identifies a record in acks and views."""
        self.records: dict[int, Record] = {}
        self.ids = itertools.count(1)
        self.index = index or SearchIndex()
        """What search sees (it may lag behind the writes)."""

    # reading -----------------------------------------------------------------------------
    def get(self, record_id: int) -> Record | None:
        record = self.records.get(record_id)
        return None if record is None or record.is_deleted else record

    def active(self) -> list[Record]:
        return [r for r in self.records.values() if not r.is_deleted]

    def data(self, record: Record, only_custom: list[str] | None = None) -> dict[str, Any]:
        """The record as API v2 returns it."""
        keys = self.fields.custom.keys() if only_custom is None else only_custom
        custom = {k: copy.deepcopy(record.custom.get(k)) for k in keys if k in self.fields.custom}
        return {
            "id": record.id,
            **copy.deepcopy(record.fields),
            "add_time": record.add_time,
            "update_time": record.update_time,
            "is_deleted": record.is_deleted,
            "custom_fields": custom,
        }

    def flat(self, record: Record) -> dict[str, Any]:
        """Written standard fields by v2 name and custom fields by name, as flat values."""
        out = {
            k: scalar(v)
            for k, v in record.fields.items()
            if k in record.written and scalar(v) is not None
        }
        for key, value in record.custom.items():
            if value is not None and key in self.fields.custom:
                out[str(self.fields.custom[key]["name"])] = scalar(value)
        return out

    def key_of(self, record: Record) -> str | None:
        key = self.fields.by_name(self.key_field) if self.key_field else None
        value = record.custom.get(key) if key else None
        return None if value is None else str(value)

    # writing -----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> Record:
        stamp = now_rfc3339()
        record = Record(next(self.ids), copy.deepcopy(DEFAULTS[self.object_name]), {}, stamp, stamp)
        self._apply(record, body)
        self.records[record.id] = record
        self.index.written(record, None)
        return record

    def update(self, record: Record, body: Mapping[str, Any]) -> None:
        before = self.index.before_write(record)
        self._apply(record, body)
        record.update_time = now_rfc3339()
        self.index.written(record, before)

    def _apply(self, record: Record, body: Mapping[str, Any]) -> None:
        record.written.update(k for k in body if k != "custom_fields")
        for name, value in body.items():
            if name == "custom_fields":
                for key, item in (value or {}).items():
                    record.custom[key] = copy.deepcopy(item)
            elif name in ("emails", "phones"):
                items = [dict(v) for v in value or []]
                if items and not any(v.get("primary") for v in items):
                    items[0]["primary"] = True
                for item in items:
                    item.setdefault("primary", False)
                    item.setdefault("label", "work")
                record.fields[name] = items
            else:
                record.fields[name] = copy.deepcopy(value)

    def delete(self, record: Record) -> None:
        before = self.index.before_write(record)
        record.is_deleted = True
        record.update_time = now_rfc3339()
        self.index.written(record, before)

    # search ------------------------------------------------------------------------------
    def _haystack(self, record: Record, fields: set[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name in fields:
            if name == "custom_fields":
                found[name] = [
                    t
                    for key, value in record.custom.items()
                    if key in self.fields.custom and self.fields.type_of(key) in SEARCHABLE_TYPES
                    for t in _texts(value)
                ]
            elif name in ("email", "phone"):
                found[name] = _texts(record.fields.get(name + "s"))
            else:
                found[name] = _texts(record.fields.get(name))
        return found

    def search(self, term: str, fields: set[str], exact: bool) -> list[dict[str, Any]]:
        """Search results (``{"result_score", "item"}``), oldest record first, from the
        index (which may lag behind the writes)."""
        wanted = term.casefold()
        out: list[dict[str, Any]] = []
        for stored in self.records.values():
            record = self.index.view(stored)
            if record is None:
                continue
            haystack = self._haystack(record, fields)
            hits = {
                name: [
                    t
                    for t in texts
                    if (t.casefold() == wanted if exact else wanted in t.casefold())
                ]
                for name, texts in haystack.items()
            }
            if any(hits.values()):
                score = (
                    1.0 if exact else round(len(wanted) / max(1, len(haystack) + len(wanted)), 4)
                )
                out.append({"result_score": score, "item": self._item(record, hits)})
        return out

    def _item(self, record: Record, hits: dict[str, list[str]]) -> dict[str, Any]:
        f = record.fields
        item: dict[str, Any] = {
            "id": record.id,
            "type": ITEM_TYPES[self.object_name],
            "visible_to": f.get("visible_to"),
            "owner": {"id": f.get("owner_id")},
            "custom_fields": hits.get("custom_fields", []),
            "notes": [],
        }
        if self.object_name == "persons":
            item.update(name=f.get("name"), emails=_texts(f.get("emails")))
            item.update(phones=_texts(f.get("phones")), organization=None)
        elif self.object_name == "organizations":
            item.update(name=f.get("name"), address=scalar(f.get("address")))
        else:
            item.update(title=f.get("title"), value=f.get("value"), currency=f.get("currency"))
            item.update(status=f.get("status"), stage={"id": f.get("stage_id")})
            item.update(person=None, organization=None)
        return item
