"""Zoho's field metadata (``GET /crm/v8/settings/fields?module=``) as syncsvc field definitions.

One answer holds every field of the module, from all layouts; Zoho does not page it. What each
key means (https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html):
``data_type`` the field type (kept as ``crm_type``); ``system_mandatory`` required on create
(layout-level mandatory flags are not in this answer); ``operation_type.api_create`` /
``api_update`` whether the API may write it, ``read_only`` whether the connected user may;
``length`` the maximum characters of text types; ``pick_list_values`` the options, written and
read by their ``display_value`` (``-None-`` is Zoho's empty choice, not a value: clear with
null); ``unique`` non-empty when "Do not allow duplicate values" is ticked, which is what an
upsert's ``duplicate_check_fields`` accepts besides the module's system duplicate check;
``custom_field`` a field the org added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from syncsvc.fields.model import FieldDef, FieldOption, FieldType, ObjectFields

TYPES: dict[str, FieldType] = {
    "text": FieldType.STRING,
    "email": FieldType.STRING,
    "phone": FieldType.STRING,
    "website": FieldType.STRING,
    "autonumber": FieldType.STRING,
    "textarea": FieldType.TEXT,
    "integer": FieldType.INTEGER,
    "bigint": FieldType.INTEGER,
    "currency": FieldType.NUMBER,
    "double": FieldType.NUMBER,
    "decimal": FieldType.NUMBER,
    "percent": FieldType.NUMBER,
    "boolean": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "picklist": FieldType.ENUMERATION,
    "multiselectpicklist": FieldType.MULTI_ENUMERATION,
    "lookup": FieldType.REFERENCE,
    "ownerlookup": FieldType.REFERENCE,
    "userlookup": FieldType.REFERENCE,
}
"""Zoho ``data_type`` → the kind of value syncsvc checks; anything else (subforms, multi-select
lookups, images, formulas of any return type) is ``OTHER`` and passes unchecked."""
TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})
COMPUTED = frozenset({"formula", "autonumber", "rollup_summary"})
"""Types Zoho computes itself: never written through the API."""
NONE_OPTION = "-None-"


def _flag(meta: Mapping[str, Any], key: str) -> bool:
    return meta.get(key) is True


def _writable(meta: Mapping[str, Any], operation: str) -> bool:
    """Whether the API may write the field on ``create`` or ``update``."""
    if _flag(meta, "read_only") or str(meta.get("data_type")) in COMPUTED:
        return False
    allowed = meta.get("operation_type")
    if isinstance(allowed, Mapping) and f"api_{operation}" in allowed:
        return allowed[f"api_{operation}"] is True
    return not _flag(meta, "field_read_only")


def _options(meta: Mapping[str, Any]) -> tuple[FieldOption, ...]:
    out: list[FieldOption] = []
    for entry in meta.get("pick_list_values") or []:
        if not isinstance(entry, Mapping):
            continue
        shown = entry.get("display_value")
        if shown is None or str(shown) == NONE_OPTION or entry.get("type") == "unused":
            continue
        out.append(FieldOption(str(shown), str(shown)))
    return tuple(out)


def _length(meta: Mapping[str, Any], kind: FieldType) -> int | None:
    length = meta.get("length")
    if kind not in TEXT_TYPES or isinstance(length, bool) or not isinstance(length, int):
        return None
    return length if length > 0 else None


def field_def(meta: Mapping[str, Any]) -> FieldDef | None:
    """One field's definition, or None for an entry without an API name."""
    name = meta.get("api_name")
    if not isinstance(name, str) or not name:
        return None
    crm_type = str(meta.get("data_type") or "")
    kind = TYPES.get(crm_type, FieldType.OTHER)
    unique = meta.get("unique")
    return FieldDef(
        name=name,
        type=kind,
        crm_type=crm_type,
        label=str(meta.get("display_label") or meta.get("field_label") or ""),
        required=_flag(meta, "system_mandatory"),
        createable=_writable(meta, "create"),
        updateable=_writable(meta, "update"),
        max_length=_length(meta, kind),
        options=_options(meta)
        if kind in (FieldType.ENUMERATION, FieldType.MULTI_ENUMERATION)
        else (),
        unique=isinstance(unique, Mapping) and bool(unique),
        custom=_flag(meta, "custom_field"),
    )


def object_fields(module: str, answer: Mapping[str, Any]) -> ObjectFields:
    """A ``settings/fields`` answer (``{"fields": [...]}``) as ``module``'s definitions."""
    entries: Iterable[Any] = answer.get("fields") or []
    defs = (field_def(e) for e in entries if isinstance(e, Mapping))
    return ObjectFields.of(module, (d for d in defs if d is not None), knows_unique=True)
