"""A table's column definitions read from Dataverse's metadata into ``FieldDef``s.

``GET EntityDefinitions(LogicalName='contact')/Attributes`` lists every column with the
properties of its metadata type; choice values come from casting to the choice types with
``$expand=OptionSet``; alternate keys from ``…/Keys``
(https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api).
Metadata queries are not paged: each answer holds every row.

Types: String → string (``TextArea`` format → text), Memo → text, Integer/BigInt → integer,
Decimal/Double/Money → number, Boolean → boolean, DateTime → date when its behaviour is
``DateOnly`` (the Web API takes ``YYYY-MM-DD``) else datetime, Picklist/State/Status →
enumeration, the Virtual ``MultiSelectPicklistType`` → multi_enumeration, Lookup/Customer/Owner
→ reference (written with ``@odata.bind``, not as a plain value), anything else → other.

``required``: Dataverse refuses a create without a ``SystemRequired`` column the platform does
not fill itself; ``ApplicationRequired`` ("Business required") is enforced by forms only.
``unique``: the column is the whole of an Active alternate key, so ``PATCH
set(column='value')`` upserts by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncsvc.fields.model import FieldDef, FieldOption, FieldType

CHOICE_TYPES = (
    "PicklistAttributeMetadata",
    "MultiSelectPicklistAttributeMetadata",
    "StatusAttributeMetadata",
    "StateAttributeMetadata",
)
"""Metadata types whose option sets are read by casting to them."""
_TYPES: dict[str, FieldType] = {
    "String": FieldType.STRING,
    "Memo": FieldType.TEXT,
    "Integer": FieldType.INTEGER,
    "BigInt": FieldType.INTEGER,
    "Decimal": FieldType.NUMBER,
    "Double": FieldType.NUMBER,
    "Money": FieldType.NUMBER,
    "Boolean": FieldType.BOOLEAN,
    "DateTime": FieldType.DATETIME,
    "Picklist": FieldType.ENUMERATION,
    "State": FieldType.ENUMERATION,
    "Status": FieldType.ENUMERATION,
    "MultiSelectPicklist": FieldType.MULTI_ENUMERATION,
    "Lookup": FieldType.REFERENCE,
    "Customer": FieldType.REFERENCE,
    "Owner": FieldType.REFERENCE,
}
PLATFORM_FILLED = {"Owner", "State", "Status", "Uniqueidentifier", "EntityName"}
"""Column types the platform fills on create even when SystemRequired."""


def label_text(value: Any) -> str:
    """``UserLocalizedLabel.Label`` of a Label, else its first localized label."""
    if not isinstance(value, Mapping):
        return ""
    user = value.get("UserLocalizedLabel")
    if isinstance(user, Mapping) and user.get("Label"):
        return str(user["Label"])
    labels = value.get("LocalizedLabels") or []
    first = labels[0] if labels and isinstance(labels[0], Mapping) else {}
    return str(first.get("Label") or "")


def crm_type(row: Mapping[str, Any]) -> str:
    """The column's type as Dataverse names it (``MultiSelectPicklist`` for the Virtual type
    that holds several choices)."""
    type_name = (row.get("AttributeTypeName") or {}).get("Value") or ""
    if type_name == "MultiSelectPicklistType":
        return "MultiSelectPicklist"
    return str(row.get("AttributeType") or type_name.removesuffix("Type") or "unknown")


def options_of(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[FieldOption, ...]]:
    """Choice values by column from the cast queries' ``OptionSet``/``GlobalOptionSet``."""
    out: dict[str, tuple[FieldOption, ...]] = {}
    for row in rows:
        option_set = row.get("OptionSet") or row.get("GlobalOptionSet") or {}
        options = option_set.get("Options") if isinstance(option_set, Mapping) else None
        if not row.get("LogicalName") or not isinstance(options, list):
            continue
        out[str(row["LogicalName"])] = tuple(
            FieldOption(str(o["Value"]), label_text(o.get("Label")) or str(o["Value"]))
            for o in options
            if isinstance(o, Mapping) and o.get("Value") is not None
        )
    return out


def unique_columns(keys: Iterable[Mapping[str, Any]]) -> set[str]:
    """Columns that alone make up an Active alternate key (pending or failed keys address
    nothing yet)."""
    out: set[str] = set()
    for key in keys:
        columns = key.get("KeyAttributes") or []
        if key.get("EntityKeyIndexStatus", "Active") == "Active" and len(columns) == 1:
            out.add(str(columns[0]))
    return out


def field_def(
    row: Mapping[str, Any], options: Mapping[str, tuple[FieldOption, ...]], unique: set[str]
) -> FieldDef:
    name = str(row["LogicalName"])
    kind = crm_type(row)
    field_type = _TYPES.get(kind, FieldType.OTHER)
    if kind == "String" and row.get("Format") == "TextArea":
        field_type = FieldType.TEXT
    if kind == "DateTime" and (row.get("DateTimeBehavior") or {}).get("Value") == "DateOnly":
        field_type = FieldType.DATE
    level = (row.get("RequiredLevel") or {}).get("Value")
    createable = bool(row.get("IsValidForCreate", False))
    max_length = row.get("MaxLength") if kind in ("String", "Memo") else None
    return FieldDef(
        name=name,
        type=field_type,
        crm_type=kind,
        label=label_text(row.get("DisplayName")),
        required=level == "SystemRequired" and createable and kind not in PLATFORM_FILLED,
        createable=createable,
        updateable=bool(row.get("IsValidForUpdate", False)),
        max_length=int(max_length) if isinstance(max_length, int) else None,
        options=options.get(name, ()),
        unique=name in unique,
        custom=bool(row.get("IsCustomAttribute", False)),
    )


def field_defs(
    attributes: Iterable[Mapping[str, Any]],
    choice_rows: Iterable[Mapping[str, Any]],
    keys: Iterable[Mapping[str, Any]],
) -> list[FieldDef]:
    """Every column of the table. Columns that only mirror another (``AttributeOf``: lookup
    names, yomi names) cannot be written and are left out."""
    options = options_of(choice_rows)
    unique = unique_columns(keys)
    return [
        field_def(row, options, unique)
        for row in attributes
        if isinstance(row, Mapping) and row.get("LogicalName") and not row.get("AttributeOf")
    ]
