"""Pipedrive's field lists (``GET /v1/personFields``, ``organizationFields``, ``dealFields``)
read into ``FieldDef``s: what a mapping may target and what each field takes.

A field list names every field of the account, standard and custom, with its ``field_type`` and,
for option fields, its options (``{"id", "label"}``). It does not say which fields API v2 lets you
write, how long text may be, or which fields are required; those come from the API's documented
request bodies and field types (``defaults.py``):

- names are what a payload uses: API v2's body keys for standard fields (the list's ``email`` is
  v2's ``emails``, ``user_id`` is ``owner_id``), custom fields by their name (by their 40-character
  key when two share a name); subfields (``<key>_currency``, address parts) are left out, v2
  writes them inside their parent;
- writable: custom fields, and the standard fields v2's create/update bodies accept;
- required: ``name`` (persons, organizations) and ``title`` (deals), the only fields v2 refuses a
  create without (``mandatory_flag`` marks what the web app asks for, not what the API requires);
- unique: Pipedrive enforces no unique values and has no upsert; syncsvc finds a record by
  searching one field, so ``unique`` marks the fields that search can look in: custom fields of
  the searchable types and a person's ``emails``/``phones``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from providers.pipedrive.defaults import (
    CUSTOM_KEY_RE,
    LOOKUP_FIELDS,
    MAX_LENGTH,
    STANDARD_FIELDS,
    V1_TO_V2,
)
from syncsvc.fields.model import FieldDef, FieldOption, FieldType, ObjectFields

TYPES: Mapping[str, FieldType] = {
    "varchar": FieldType.STRING,
    "varchar_auto": FieldType.STRING,
    "phone": FieldType.STRING,
    "varchar_options": FieldType.STRING,
    "time": FieldType.STRING,
    "address": FieldType.STRING,
    "text": FieldType.TEXT,
    "double": FieldType.NUMBER,
    "monetary": FieldType.NUMBER,
    "int": FieldType.INTEGER,
    "boolean": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "enum": FieldType.ENUMERATION,
    "status": FieldType.ENUMERATION,
    "visible_to": FieldType.ENUMERATION,
    "set": FieldType.MULTI_ENUMERATION,
    "user": FieldType.REFERENCE,
    "org": FieldType.REFERENCE,
    "people": FieldType.REFERENCE,
    "stage": FieldType.REFERENCE,
}
"""Pipedrive ``field_type`` → the values syncsvc checks for; any other type is ``OTHER``."""
SEARCHABLE_CUSTOM = frozenset(
    {"address", "varchar", "text", "varchar_auto", "double", "monetary", "phone"}
)
"""Custom field types the search endpoints look in (``fields=custom_fields``)."""
REQUIRED = {"persons": "name", "organizations": "name", "deals": "title"}


def _type(key: str, field_type: str, custom: bool) -> FieldType:
    # standard "date" fields ending in _time hold timestamps (v2 writes them as RFC 3339)
    if not custom and field_type == "date" and key.endswith("_time"):
        return FieldType.DATETIME
    return TYPES.get(field_type, FieldType.OTHER)


def _options(entry: Mapping[str, Any]) -> tuple[FieldOption, ...]:
    return tuple(
        FieldOption(str(o["id"]), str(o.get("label", o["id"])))
        for o in entry.get("options") or ()
        if isinstance(o, Mapping) and o.get("id") is not None
    )


def _definition(object_name: str, entry: Mapping[str, Any], name: str, custom: bool) -> FieldDef:
    field_type = str(entry.get("field_type") or "")
    writable = custom or name in STANDARD_FIELDS.get(object_name, frozenset())
    searchable = field_type in SEARCHABLE_CUSTOM if custom else False
    return FieldDef(
        name=name,
        type=_type(name, field_type, custom),
        crm_type=field_type,
        label=str(entry.get("name") or name),
        required=REQUIRED.get(object_name) == name,
        createable=writable,
        updateable=writable,
        max_length=MAX_LENGTH.get(field_type),
        options=_options(entry),
        unique=searchable or name in LOOKUP_FIELDS.get(object_name, frozenset()),
        custom=custom,
    )


def field_defs(object_name: str, raw: Iterable[Mapping[str, Any]]) -> ObjectFields:
    """The definitions of one object's fields from its field list's entries."""
    entries = [
        e
        for e in raw
        if isinstance(e, Mapping)
        and e.get("key")
        and not e.get("is_subfield")
        and e.get("active_flag", True)
    ]
    custom_names = Counter(
        str(e.get("name") or "").casefold() for e in entries if CUSTOM_KEY_RE.match(str(e["key"]))
    )
    standard = {V1_TO_V2.get(str(e["key"]), str(e["key"])) for e in entries} | set(
        STANDARD_FIELDS.get(object_name, ())
    )
    defs: list[FieldDef] = []
    for entry in entries:
        key = str(entry["key"])
        if CUSTOM_KEY_RE.match(key):
            name = str(entry.get("name") or key)
            unique_name = (
                name.strip() and custom_names[name.casefold()] == 1 and name not in standard
            )
            defs.append(_definition(object_name, entry, name if unique_name else key, True))
        else:
            defs.append(_definition(object_name, entry, V1_TO_V2.get(key, key), False))
    return ObjectFields.of(object_name, defs, knows_unique=True)
