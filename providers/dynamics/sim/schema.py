"""The tables of the simulated environment: their columns (attributes) and alternate keys.

Standard columns come from the data files in ``fields/`` (one per table, written from the
table/entity reference pages of the Dataverse documentation; each file names its page). Custom
columns come from the simulator's ``custom_attributes`` option or from ``POST
EntityDefinitions(LogicalName='…')/Attributes`` at run time; alternate keys from the
``alternate_keys`` option or ``POST EntityDefinitions(LogicalName='…')/Keys``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

FIELDS_DIR = Path(__file__).resolve().parent / "fields"
ENTITY_SETS = {"contacts": "contact", "accounts": "account", "opportunities": "opportunity"}
"""The tables the environment has: entity set → logical name (a data file each)."""
DEFAULT_STRING_LENGTH = 4000
"""Length of a custom column given by name only (``custom_attributes: {"contacts": ["x"]}``)."""


@dataclass(frozen=True)
class Attribute:
    """One column as ``EntityDefinitions(…)/Attributes`` describes it."""

    name: str
    kind: str = "String"
    """AttributeType (``MultiSelectPicklist`` for the Virtual multi-select choice type)."""
    label: str = ""
    max_length: int | None = None
    options: tuple[tuple[int, str], ...] = ()
    required: str = "None"
    """RequiredLevel: None, Recommended, ApplicationRequired or SystemRequired."""
    create: bool = True
    update: bool = True
    format: str | None = None
    """String: Text, Email, Phone, Url, TextArea; DateTime: DateOnly or DateAndTime."""
    behavior: str | None = None
    """DateTime: UserLocal, DateOnly or TimeZoneIndependent."""
    minimum: float | None = None
    maximum: float | None = None
    precision: int | None = None
    targets: tuple[str, ...] = ()
    custom: bool = False

    @property
    def option_values(self) -> tuple[int, ...]:
        return tuple(v for v, _ in self.options)

    @property
    def date_only(self) -> bool:
        return self.kind == "DateTime" and self.behavior == "DateOnly"

    @classmethod
    def from_data(cls, data: Mapping[str, Any], custom: bool = False) -> Attribute:
        """An attribute from a data file entry (or a ``custom_attributes`` option entry)."""
        kind = str(data.get("type", "String"))
        length = data.get("max_length")
        if length is None and kind in ("String", "Memo"):
            length = DEFAULT_STRING_LENGTH
        return cls(
            name=str(data["name"]).lower(),
            kind=kind,
            label=str(data.get("label", data["name"])),
            max_length=None if length is None else int(length),
            options=tuple((int(v), str(label)) for v, label in data.get("options", ())),
            required=str(data.get("required", "None")),
            create=bool(data.get("create", True)),
            update=bool(data.get("update", True)),
            format=data.get("format"),
            behavior=data.get("behavior"),
            minimum=data.get("min"),
            maximum=data.get("max"),
            precision=data.get("precision"),
            targets=tuple(str(t) for t in data.get("targets", ())),
            custom=bool(data.get("custom", custom)),
        )


@dataclass(frozen=True)
class KeyDef:
    """An alternate key: ``EntityDefinitions(…)/Keys``."""

    name: str
    columns: tuple[str, ...]
    status: str = "Active"
    """EntityKeyIndexStatus: only an Active key can address records."""


@dataclass(frozen=True)
class TableDef:
    entity_set: str
    logical_name: str
    attributes: tuple[Attribute, ...]
    keys: tuple[KeyDef, ...] = ()
    primary_name: str = "name"
    by_name: Mapping[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {a.name: a for a in self.attributes})

    @property
    def primary_key(self) -> str:
        return f"{self.logical_name}id"

    @property
    def active_keys(self) -> tuple[tuple[str, ...], ...]:
        return tuple(k.columns for k in self.keys if k.status == "Active")

    def attribute(self, name: str) -> Attribute | None:
        return self.by_name.get(name)

    def with_attributes(self, extra: Iterable[Attribute]) -> TableDef:
        return replace(self, attributes=self.attributes + tuple(extra))

    def with_key(self, key: KeyDef) -> TableDef:
        return replace(self, keys=(*self.keys, key))


@cache
def _standard(entity_set: str) -> TableDef:
    data = json.loads((FIELDS_DIR / f"{ENTITY_SETS[entity_set]}.json").read_text("utf-8"))
    table = data["table"]
    return TableDef(
        entity_set=str(table["entity_set"]),
        logical_name=str(table["logical_name"]),
        attributes=tuple(Attribute.from_data(a) for a in data["attributes"]),
        primary_name=str(table.get("primary_name", "name")),
    )


def _custom(entries: Iterable[Any]) -> list[Attribute]:
    return [
        Attribute.from_data({"name": e} if isinstance(e, str) else e, custom=True) for e in entries
    ]


def key_name(columns: Iterable[str]) -> str:
    return "_".join(columns) + "_key"


def tables(
    custom_attributes: Mapping[str, Iterable[Any]] | None = None,
    alternate_keys: Mapping[str, Iterable[Iterable[str]]] | None = None,
) -> dict[str, TableDef]:
    """Every table with the standard columns, plus the custom columns and keys given."""
    out: dict[str, TableDef] = {}
    for entity_set in ENTITY_SETS:
        table = _standard(entity_set).with_attributes(
            _custom((custom_attributes or {}).get(entity_set, ()))
        )
        for columns in (alternate_keys or {}).get(entity_set, ()):
            names = tuple(str(c).lower() for c in columns)
            missing = [c for c in names if table.attribute(c) is None]
            if missing:
                raise ValueError(f"{entity_set}: alternate key on unknown column(s) {missing}")
            table = table.with_key(KeyDef(key_name(names), names))
        out[entity_set] = table
    return out
