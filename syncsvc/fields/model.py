"""A CRM's field definitions as syncsvc holds them, whatever CRM they came from.

Each provider's client reads its CRM's metadata (HubSpot properties, Salesforce describe,
Pipedrive ``*Fields``, Zoho ``settings/fields``, Dataverse attribute definitions) into these.
``crm_type`` keeps the CRM's own type name; ``type`` is the kind of value syncsvc checks for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    STRING = "string"
    """Text on one line (names, emails, phone numbers, URLs)."""
    TEXT = "text"
    """Text that may span lines."""
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUMERATION = "enumeration"
    """One value out of ``options``."""
    MULTI_ENUMERATION = "multi_enumeration"
    """Any number of values out of ``options``."""
    REFERENCE = "reference"
    """The id of another CRM record (owner, account, lookup)."""
    OTHER = "other"
    """Anything syncsvc does not check beyond JSON (compound or CRM-specific types)."""


@dataclass(frozen=True)
class FieldOption:
    value: str
    """What the CRM stores and its API takes (an internal name or a numeric code as text)."""
    label: str
    """What its users see."""


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    crm_type: str
    label: str = ""
    required: bool = False
    """The CRM refuses to create a record without it."""
    createable: bool = True
    updateable: bool = True
    max_length: int | None = None
    options: tuple[FieldOption, ...] = ()
    unique: bool = False
    """Values are unique in the CRM: usable as the id property of an upsert."""
    custom: bool = False

    @property
    def writable(self) -> bool:
        return self.createable or self.updateable

    def option_for(self, value: str) -> FieldOption | None:
        """The option whose value, else whose label, is exactly ``value``."""
        for option in self.options:
            if option.value == value:
                return option
        for option in self.options:
            if option.label == value:
                return option
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": str(self.type), "crm_type": self.crm_type}
        if self.label:
            out["label"] = self.label
        for flag in ("required", "unique", "custom"):
            if getattr(self, flag):
                out[flag] = True
        for flag in ("createable", "updateable"):
            if not getattr(self, flag):
                out[flag] = False
        if self.max_length is not None:
            out["max_length"] = self.max_length
        if self.options:
            out["options"] = [[o.value, o.label] for o in self.options]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldDef:
        return cls(
            name=str(data["name"]),
            type=FieldType(data["type"]),
            crm_type=str(data.get("crm_type", "")),
            label=str(data.get("label", "")),
            required=bool(data.get("required", False)),
            createable=bool(data.get("createable", True)),
            updateable=bool(data.get("updateable", True)),
            max_length=None if data.get("max_length") is None else int(data["max_length"]),
            options=tuple(FieldOption(str(v), str(label)) for v, label in data.get("options", ())),
            unique=bool(data.get("unique", False)),
            custom=bool(data.get("custom", False)),
        )


@dataclass(frozen=True)
class ObjectFields:
    """One object's fields in one CRM account, as read at ``fetched_at``."""

    object: str
    fields: Mapping[str, FieldDef]
    fetched_at: datetime | None = None
    knows_unique: bool = True
    """Whether the CRM said which fields hold unique values (``FieldDef.unique``)."""
    by_lower: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        object_name: str,
        defs: Iterable[FieldDef],
        fetched_at: datetime | None = None,
        knows_unique: bool = True,
    ) -> ObjectFields:
        by_name = {d.name: d for d in defs}
        return cls(object_name, by_name, fetched_at, knows_unique, {n.lower(): n for n in by_name})

    def get(self, name: str) -> FieldDef | None:
        return self.fields.get(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "knows_unique": self.knows_unique,
            "fields": [d.to_json() for d in self.fields.values()],
        }

    @classmethod
    def from_json(
        cls, object_name: str, data: Mapping[str, Any], fetched_at: datetime | None
    ) -> ObjectFields:
        return cls.of(
            object_name,
            (FieldDef.from_json(d) for d in data["fields"]),
            fetched_at,
            bool(data.get("knows_unique", True)),
        )
