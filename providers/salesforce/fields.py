"""An sObject's field definitions from ``GET /services/data/vXX.X/sobjects/{SObject}/describe``.

Each entry of the describe result's ``fields`` becomes a ``FieldDef``:

- ``type`` (Salesforce's, kept as ``crm_type``): string/email/phone/url/combobox/encryptedstring
  → STRING, textarea → TEXT, double/currency/percent → NUMBER, int/long → INTEGER, boolean,
  date, datetime, picklist → ENUMERATION, multipicklist → MULTI_ENUMERATION, id/reference →
  REFERENCE; anything else (address, location, time, base64, anyType) → OTHER.
- required on create: ``createable`` and not ``nillable`` and not ``defaultedOnCreate``.
- ``length`` is the maximum length of text fields (0 means none given).
- options: the active ``picklistValues`` (``value`` is what the API takes, ``label`` what users
  see; they differ for some standard picklists, e.g. CleanStatus ``Matched``/``In Sync``).
- unique (usable as the upsert key): ``externalId``. sObject Collections upsert
  (``PATCH /composite/sobjects/{SObject}/{ExternalIdField}``) takes an External ID field only;
  ``idLookup`` fields such as Email or Name are not unique and are not accepted there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncsvc.fields.model import FieldDef, FieldOption, FieldType, ObjectFields

TYPES: dict[str, FieldType] = {
    "string": FieldType.STRING,
    "email": FieldType.STRING,
    "phone": FieldType.STRING,
    "url": FieldType.STRING,
    "combobox": FieldType.STRING,
    "encryptedstring": FieldType.STRING,
    "textarea": FieldType.TEXT,
    "double": FieldType.NUMBER,
    "currency": FieldType.NUMBER,
    "percent": FieldType.NUMBER,
    "int": FieldType.INTEGER,
    "long": FieldType.INTEGER,
    "boolean": FieldType.BOOLEAN,
    "date": FieldType.DATE,
    "datetime": FieldType.DATETIME,
    "picklist": FieldType.ENUMERATION,
    "multipicklist": FieldType.MULTI_ENUMERATION,
    "id": FieldType.REFERENCE,
    "reference": FieldType.REFERENCE,
}
TEXT_TYPES = frozenset(n for n, t in TYPES.items() if t in (FieldType.STRING, FieldType.TEXT))
TEXT_TYPES |= {"picklist", "multipicklist"}


def _options(entry: Mapping[str, Any]) -> tuple[FieldOption, ...]:
    values = entry.get("picklistValues")
    if not isinstance(values, list):
        return ()
    return tuple(
        FieldOption(str(v["value"]), str(v.get("label") or v["value"]))
        for v in values
        if isinstance(v, Mapping) and v.get("value") is not None and v.get("active", True)
    )


def field_def(entry: Mapping[str, Any]) -> FieldDef:
    """One entry of a describe result's ``fields``."""
    crm_type = str(entry.get("type") or "")
    createable = bool(entry.get("createable", False))
    length = entry.get("length")
    return FieldDef(
        name=str(entry["name"]),
        type=TYPES.get(crm_type, FieldType.OTHER),
        crm_type=crm_type,
        label=str(entry.get("label") or ""),
        required=createable
        and not entry.get("nillable", True)
        and not entry.get("defaultedOnCreate", False),
        createable=createable,
        updateable=bool(entry.get("updateable", False)),
        max_length=int(length)
        if crm_type in TEXT_TYPES and isinstance(length, int) and length > 0
        else None,
        options=_options(entry),
        unique=bool(entry.get("externalId", False)),
        custom=bool(entry.get("custom", False)),
    )


def object_fields(object_name: str, describe: Any) -> ObjectFields:
    """``describe`` (the decoded answer) as ``ObjectFields``; ``ValueError`` when it has no
    ``fields`` list."""
    fields = describe.get("fields") if isinstance(describe, Mapping) else None
    if not isinstance(fields, list):
        raise ValueError(f"the describe answer for {object_name} has no fields list")
    defs = [field_def(f) for f in fields if isinstance(f, Mapping) and f.get("name")]
    return ObjectFields.of(object_name, defs)
