"""HubSpot property definitions (``GET /crm/v3/properties/{objectType}``) as ``FieldDef``s.

HubSpot describes each property with a ``type`` (the value: ``string``, ``number``, ``bool``,
``date``, ``datetime``, ``enumeration``, ``phone_number``, …) and a ``fieldType`` (the widget:
``text``, ``textarea``, ``select``, ``checkbox``, ``calculation_*``, …); see
https://developers.hubspot.com/docs/api/crm/properties. ``crm_type`` keeps both as
``type/fieldType``. What the answer says and syncsvc uses:

- read-only: ``modificationMetadata.readOnlyValue`` or ``calculated`` (and calculation field
  types): neither createable nor updateable;
- unique: ``hasUniqueValue`` — the only properties ``idProperty`` accepts in batch
  update/upsert — and contacts' ``email``, which HubSpot dedupes by and takes as ``idProperty``
  although the API reports ``hasUniqueValue: false`` for it;
- options: ``options[].value`` is what the API takes, ``label`` what users see; a
  ``checkbox`` enumeration holds several values (``;``-joined);
- custom: properties without ``hubspotDefined: true``;
- required: the properties API has no such flag (HubSpot's required fields are form/UI
  settings), so no property is required on create;
- max length: string properties hold up to 65,536 characters.

The endpoint answers every property of the object at once (no paging).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncsvc.fields.model import FieldDef, FieldOption, FieldType, ObjectFields

MAX_STRING_LENGTH = 65_536
IDENTITY_PROPERTIES = {"contacts": frozenset({"email"})}
"""Identity properties without ``hasUniqueValue`` (HubSpot's own dedupe keys)."""
OBJECT_NAMES = {"0-1": "contacts", "0-2": "companies", "0-3": "deals"}
CALCULATED_FIELD_TYPES = frozenset(
    {"calculation_equation", "calculation_rollup", "calculation_score", "calculation_read_time"}
)
MULTI_FIELD_TYPES = frozenset({"checkbox"})
TEXT_TYPES = {"string": FieldType.TEXT, "phone_number": FieldType.STRING}
"""HubSpot does not keep single-line text to one line, so its strings are ``TEXT``."""
SCALAR_TYPES = {
    "number": FieldType.NUMBER,
    "bool": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
}


def _field_type(prop: Mapping[str, Any]) -> FieldType:
    kind = str(prop.get("type", "")).lower()
    field_type = str(prop.get("fieldType", ""))
    if prop.get("referencedObjectType"):
        return FieldType.REFERENCE
    if kind == "enumeration":
        if field_type in MULTI_FIELD_TYPES:
            return FieldType.MULTI_ENUMERATION
        return FieldType.ENUMERATION
    if kind in TEXT_TYPES:
        return TEXT_TYPES[kind]
    return SCALAR_TYPES.get(kind, FieldType.OTHER)


def _options(prop: Mapping[str, Any]) -> tuple[FieldOption, ...]:
    out: list[FieldOption] = []
    for option in prop.get("options") or ():
        if isinstance(option, Mapping) and option.get("value") is not None:
            value = str(option["value"])
            out.append(FieldOption(value, str(option.get("label") or value)))
    return tuple(out)


def _read_only(prop: Mapping[str, Any]) -> bool:
    metadata = prop.get("modificationMetadata") or {}
    return bool(
        metadata.get("readOnlyValue")
        or prop.get("calculated")
        or prop.get("fieldType") in CALCULATED_FIELD_TYPES
    )


def field_def(object_name: str, prop: Mapping[str, Any]) -> FieldDef:
    """One property of ``object_name`` as syncsvc's ``FieldDef``."""
    name = str(prop["name"])
    kind = _field_type(prop)
    writable = not _read_only(prop)
    identity = name in IDENTITY_PROPERTIES.get(object_name, ())
    options = _options(prop) if kind in (FieldType.ENUMERATION, FieldType.MULTI_ENUMERATION) else ()
    if kind is FieldType.BOOLEAN:
        options = ()
    return FieldDef(
        name=name,
        type=kind,
        crm_type=f"{prop.get('type', '')}/{prop.get('fieldType', '')}",
        label=str(prop.get("label") or ""),
        required=False,
        createable=writable,
        updateable=writable,
        max_length=MAX_STRING_LENGTH if kind in (FieldType.TEXT, FieldType.STRING) else None,
        options=options,
        unique=bool(prop.get("hasUniqueValue")) or identity,
        custom=not prop.get("hubspotDefined", False),
    )


def object_fields(object_name: str, results: Iterable[Any]) -> ObjectFields:
    """The ``results`` of ``GET /crm/v3/properties/{object_name}`` (archived ones left out)."""
    canonical = OBJECT_NAMES.get(object_name, object_name)
    defs = [
        field_def(canonical, prop)
        for prop in results
        if isinstance(prop, Mapping) and prop.get("name") and not prop.get("archived")
    ]
    return ObjectFields.of(object_name, defs, knows_unique=True)
