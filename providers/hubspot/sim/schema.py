"""Property definitions and value checks of the simulated HubSpot account.

The standard properties of contacts, companies and deals are data (``fields/<object>.json``,
compact entries of HubSpot's own property shape); ``prop`` fills in the rest of what
``GET /crm/v3/properties/{objectType}`` answers. Value checks follow HubSpot's documented rules
(https://developers.hubspot.com/docs/api/crm/properties): numbers, ``true``/``false``, dates at
midnight UTC as ``YYYY-MM-DD`` or epoch ms, datetimes as ISO 8601 or epoch ms, enumerations by
option *value* (multi-checkbox ``;``-joined), strings up to 65,536 characters, and no leading or
trailing whitespace in non-string values
(https://developers.hubspot.com/changelog/breaking-change-enhanced-validations-for-non-string-properties-in-hubspots-crmobject-apis).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

FIELDS_DIR = Path(__file__).resolve().parent / "fields"
OBJECTS = ("contacts", "companies", "deals")
TYPES = {"string", "number", "date", "datetime", "enumeration", "bool", "phone_number"}
FIELD_TYPES = {
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "phonenumber",
    "calculation_equation",
    "html",
    "file",
}
VALID_FIELD_TYPES = {
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "string": {"file", "text", "textarea", "calculation_equation", "html", "phonenumber"},
    "number": {"number", "calculation_equation"},
    "phone_number": {"phonenumber"},
}
"""Which ``fieldType`` each ``type`` may have (the properties guide's table)."""
MAX_STRING = 65_536
"""HubSpot: string properties are "limited to 65,536 characters"."""
MAX_UNIQUE_PER_OBJECT = 10
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
EPOCH_MS_RE = re.compile(r"^-?\d{1,15}$")
EPOCH = "1970-01-01T00:00:00.000Z"


def prop(entry: Mapping[str, Any], created_at: str = EPOCH) -> dict[str, Any]:
    """A full property in HubSpot's shape from a compact entry (name, label, type, fieldType,
    groupName, options as ``[value, label]`` pairs or HubSpot option dicts, and the flags)."""
    read_only = bool(entry.get("readOnlyValue", False))
    options = []
    for i, option in enumerate(entry.get("options") or ()):
        if isinstance(option, Mapping):
            value, label = str(option["value"]), str(option.get("label", option["value"]))
        else:
            value, label = str(option[0]), str(option[1])
        options.append({"label": label, "value": value, "displayOrder": i, "hidden": False})
    out: dict[str, Any] = {
        "name": str(entry["name"]),
        "label": str(entry.get("label") or entry["name"]),
        "type": str(entry.get("type", "string")),
        "fieldType": str(entry.get("fieldType", "text")),
        "groupName": str(entry.get("groupName", "custom")),
        "description": str(entry.get("description", "")),
        "options": options,
        "displayOrder": int(entry.get("displayOrder", -1)),
        "calculated": bool(entry.get("calculated", False)),
        "externalOptions": bool(entry.get("externalOptions", False)),
        "hasUniqueValue": bool(entry.get("hasUniqueValue", False)),
        "hidden": bool(entry.get("hidden", False)),
        "formField": bool(entry.get("formField", not read_only)),
        "modificationMetadata": {
            "archivable": not entry.get("hubspotDefined", False),
            "readOnlyDefinition": bool(entry.get("hubspotDefined", False)),
            "readOnlyValue": read_only,
        },
        "createdAt": created_at,
        "updatedAt": created_at,
        "archived": False,
    }
    if entry.get("hubspotDefined"):
        out["hubspotDefined"] = True
    for key in ("referencedObjectType", "showCurrencySymbol"):
        if key in entry:
            out[key] = entry[key]
    return out


@cache
def _standard_entries(object_name: str) -> tuple[dict[str, Any], ...]:
    entries = json.loads((FIELDS_DIR / f"{object_name}.json").read_text(encoding="utf-8"))
    return tuple(entries)


def standard_properties(object_name: str) -> list[dict[str, Any]]:
    """The HubSpot-defined properties of ``object_name`` (read from its data file)."""
    return [prop(entry) for entry in _standard_entries(object_name)]


def custom_property(spec: str | Mapping[str, Any]) -> dict[str, Any]:
    """A custom property from a bare name (a text property) or a property-create body."""
    if isinstance(spec, str):
        return prop({"name": spec, "label": spec.replace("_", " ").title()}, created_at=now())
    entry = {k: v for k, v in spec.items() if k not in ("hubspotDefined", "readOnlyValue")}
    return prop(entry, created_at=now())


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_definition(body: Any, existing: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why a property-create body is refused, or None."""
    if not isinstance(body, dict):
        return "Invalid input JSON: expected an object"
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        return f"Invalid input JSON: some of required attributes are not set {missing}"
    if not NAME_RE.match(str(body["name"])):
        return (
            f"Property name {body['name']!r} is invalid: it must start with a letter and hold "
            "only lowercase letters, digits and underscores"
        )
    kind, field_type = body["type"], body["fieldType"]
    if kind not in TYPES or field_type not in VALID_FIELD_TYPES.get(kind, set()):
        return f"Invalid fieldType {field_type} for property type {kind}"
    options = body.get("options") or []
    if kind == "enumeration" and not options:
        return "Enumeration properties need at least one option"
    for option in options:
        if not isinstance(option, dict) or not option.get("value") or not option.get("label"):
            return "Every option needs a label and a value"
    if body.get("hasUniqueValue"):
        uniques = sum(1 for p in existing.values() if p.get("hasUniqueValue"))
        if uniques >= MAX_UNIQUE_PER_OBJECT:
            return f"An object can have at most {MAX_UNIQUE_PER_OBJECT} unique value properties"
    return None


@dataclass(frozen=True)
class Invalid:
    """One reason a property value was refused, in HubSpot's terms."""

    name: str
    error: str
    message: str

    def as_detail(self) -> dict[str, Any]:
        return {
            "isValid": False,
            "message": self.message,
            "error": self.error,
            "name": self.name,
            "localizedErrorMessage": self.message,
        }


def _epoch_ms(value: str) -> dt.datetime | None:
    if not EPOCH_MS_RE.match(value):
        return None
    return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)


def _moment(value: str) -> dt.datetime | None:
    """An ISO 8601 date, date-time or epoch-ms value as an aware UTC datetime (None if not)."""
    parsed = _epoch_ms(value)
    if parsed is not None:
        return parsed
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(0), dt.UTC)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _number(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() and math.isfinite(float(number)) else None


def _options(definition: Mapping[str, Any]) -> list[str]:
    return [str(o["value"]) for o in definition.get("options") or []]


def _check_typed(name: str, kind: str, definition: Mapping[str, Any], value: str) -> Invalid | None:
    if kind == "number" and _number(value) is None:
        return Invalid(name, "INVALID_LONG", f"{value} was not a valid number.")
    if kind == "bool" and value not in ("true", "false"):
        return Invalid(name, "INVALID_BOOLEAN", f"{value} was not a valid boolean.")
    if kind == "date":
        moment = _moment(value)
        if moment is None:
            return Invalid(name, "INVALID_DATE", f"{value} was not a valid date.")
        if moment.time() != dt.time(0):
            at = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
            return Invalid(name, "INVALID_DATE", f"{value} is at {at} UTC, not midnight!")
    if kind == "datetime" and _moment(value) is None:
        return Invalid(name, "INVALID_DATE", f"{value} was not a valid datetime.")
    return None


def check_value(definition: Mapping[str, Any], value: str, strict_options: bool) -> Invalid | None:
    """Why ``value`` cannot be stored in the property, or None ("" always clears)."""
    name, kind = str(definition["name"]), str(definition["type"]).lower()
    if value == "":
        return None
    if kind not in ("string", "phone_number") and value != value.strip():
        return Invalid(
            name,
            "LEADING_TRAILING_WHITESPACE",
            f'"{value}" includes leading or trailing whitespace.',
        )
    if name == "email" and not EMAIL_RE.match(value.strip()):
        return Invalid(name, "INVALID_EMAIL", f"Email address {value} is invalid")
    if kind in ("string", "phone_number") and len(value) > MAX_STRING:
        return Invalid(
            name,
            "INVALID_STRING_LENGTH",
            f"Value of length {len(value)} exceeds the maximum length of {MAX_STRING} characters",
        )
    problem = _check_typed(name, kind, definition, value)
    if problem is not None:
        return problem
    allowed = _options(definition)
    if kind == "enumeration" and strict_options and allowed:
        chosen = value.split(";") if definition.get("fieldType") == "checkbox" else [value]
        for one in chosen:
            if one not in allowed:
                return Invalid(
                    name,
                    "INVALID_OPTION",
                    f"{one} was not one of the allowed options: [{', '.join(allowed)}]",
                )
    return None


def stored_value(definition: Mapping[str, Any], value: str) -> str:
    """A valid value as HubSpot keeps and reads it back: datetimes as ISO 8601 UTC with
    milliseconds, dates as ``YYYY-MM-DD``, numbers without trailing zeros."""
    kind = str(definition["type"]).lower()
    if value == "":
        return value
    if kind in ("date", "datetime"):
        moment = _moment(value)
        if moment is not None:
            if kind == "date":
                return moment.date().isoformat()
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if kind == "number":
        number = _number(value)
        if number is not None:
            text = format(number.normalize(), "f")
            return "0" if text in ("-0", "0") else text
    return value
