"""Field definitions of the simulated Zoho modules and the value checks Zoho applies to records.

The standard fields of each module live in ``fields/<Module>.json`` (names, labels, types,
lengths, picklist values, mandatory and read-only flags as Zoho's documentation lists them);
``definition`` expands one into the shape ``GET /crm/v8/settings/fields?module=`` answers.
Custom fields come from ``POST /crm/v8/settings/fields?module=`` bodies (``custom_definition``),
the same whether they arrive over HTTP or through the ``custom_fields`` simulator option.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

FIELDS_DIR = Path(__file__).resolve().parent / "fields"
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)$")
JSON_TYPES = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string",
    "website": "string", "picklist": "string", "multiselectpicklist": "jsonarray",
    "currency": "double", "double": "double", "percent": "double", "integer": "integer",
    "bigint": "integer", "boolean": "boolean", "date": "string", "datetime": "string",
    "lookup": "jsonobject", "ownerlookup": "jsonobject", "userlookup": "jsonobject",
    "autonumber": "string", "formula": "string", "profileimage": "string",
}  # fmt: skip
DEFAULT_LENGTH = {
    "text": 255, "textarea": 2000, "email": 100, "phone": 30, "website": 255, "picklist": 120,
    "multiselectpicklist": 2000, "integer": 9, "bigint": 18, "currency": 16, "double": 16,
    "percent": 5,
}  # fmt: skip
"""The lengths Zoho gives a new custom field of each type when the request names none."""
CREATABLE_TYPES = frozenset(DEFAULT_LENGTH) | {"boolean", "date", "datetime"}
"""The ``data_type`` values the simulator's ``POST /settings/fields`` accepts."""
COMPUTED_TYPES = frozenset({"autonumber", "formula"})
NONE_OPTION = "-None-"
"""Zoho's empty picklist choice: sending it clears the field."""
MAX_SUPPORTED_VALUES = 25
SYSTEM_DUPLICATE_CHECK = {"Contacts": "Email", "Accounts": "Account_Name", "Deals": "Deal_Name"}
"""System-defined duplicate-check fields, matched first when an upsert names none."""
USER_PROFILES = [
    {"permission_type": "read_write", "name": "Administrator", "id": "5725767000000026011"},
    {"permission_type": "read_write", "name": "Standard", "id": "5725767000000026014"},
]


class FieldSpecError(ValueError):
    """A custom field the simulated org refuses to create; ``entry`` is Zoho's error entry."""

    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__(entry["message"])
        self.entry = entry


def error(code: str, message: str, api_name: str | None = None, index: int | None = None,
          **details: Any) -> dict[str, Any]:  # fmt: skip
    """One entry of Zoho's error envelope (per record when ``index`` is given)."""
    body: dict[str, Any] = {}
    if api_name is not None:
        body["api_name"] = api_name
        if index is not None:
            body["json_path"] = f"$.data[{index}].{api_name}"
    body.update(details)
    return {"code": code, "details": body, "message": message, "status": "error"}


def _id(module: str, api_name: str) -> str:
    return str(5725767 * 10**12 + zlib.crc32(f"{module}.{api_name}".encode()))


def definition(module: str, spec: Mapping[str, Any], custom: bool = False) -> dict[str, Any]:
    """One field as ``GET /settings/fields`` describes it, from its compact data-file form."""
    api_name = str(spec["api_name"])
    data_type = str(spec["data_type"])
    label = str(spec.get("label") or api_name.replace("_", " "))
    read_only = bool(spec.get("read_only", False)) or data_type in COMPUTED_TYPES
    listed = spec.get("pick_list_values") or ()
    values = [v if isinstance(v, Mapping) else {"display_value": v} for v in listed]
    return {
        "api_name": api_name,
        "field_label": label,
        "display_label": label,
        "data_type": data_type,
        "json_type": JSON_TYPES.get(data_type, "string"),
        "length": spec.get("length", DEFAULT_LENGTH.get(data_type)),
        "decimal_place": spec.get("decimal_place"),
        "system_mandatory": bool(spec.get("system_mandatory", False)),
        "custom_field": custom,
        "read_only": read_only,
        "field_read_only": read_only,
        "operation_type": {
            "web_update": not read_only,
            "api_create": not read_only,
            "web_create": not read_only,
            "api_update": not read_only,
        },
        "visible": True,
        "type": "used",
        "unique": dict(spec.get("unique") or {}),
        "pick_list_values": [
            {
                "display_value": str(v["display_value"]),
                "actual_value": str(v.get("actual_value") or v["display_value"]),
                "reference_value": str(v.get("actual_value") or v["display_value"]),
                "sequence_number": i + 1,
                "type": "used",
                "id": _id(module, f"{api_name}.{i}"),
            }
            for i, v in enumerate(values)
        ],
        "profiles": [dict(p) for p in USER_PROFILES],
        "created_source": "crm" if custom else "default",
        "id": _id(module, api_name),
    }


@cache
def _standard(module: str) -> tuple[dict[str, Any], ...]:
    path = FIELDS_DIR / f"{module}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(definition(module, spec) for spec in data["fields"])


def standard_modules() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in FIELDS_DIR.glob("*.json")))


def standard_fields(module: str) -> list[dict[str, Any]]:
    """Fresh copies of ``module``'s standard field definitions."""
    return json.loads(json.dumps(_standard(module)))  # type: ignore[no-any-return]


def api_name_of(label: str) -> str:
    """Zoho's API name for a new field: the label with every run of other characters an ``_``."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")
    return name if name[:1].isalpha() else f"Field_{name}"


def _refuse(code: str, message: str, key: str | None, where: str, **details: Any) -> FieldSpecError:
    path = f"{where}.{key}" if key else where
    return FieldSpecError(error(code, message, key, json_path=path, **details))


def custom_definition(
    module: str, spec: Any, index: int, taken: Mapping[str, Any]
) -> dict[str, Any]:
    """The definition a ``POST /settings/fields`` entry creates; ``FieldSpecError`` when Zoho
    would refuse it (labels and API names are unique per module)."""
    where = f"$.fields[{index}]"
    if not isinstance(spec, Mapping):
        raise _refuse("INVALID_DATA", "invalid data", None, where, expected_data_type="jsonobject")
    for key in ("field_label", "data_type"):
        if not isinstance(spec.get(key), str) or not spec[key].strip():
            raise _refuse("MANDATORY_NOT_FOUND", "required field not found", key, where)
    data_type = str(spec["data_type"])
    if data_type not in CREATABLE_TYPES:
        supported = sorted(CREATABLE_TYPES)[:MAX_SUPPORTED_VALUES]
        raise _refuse(
            "INVALID_DATA", "invalid data", "data_type", where, supported_values=supported
        )
    label = str(spec["field_label"]).strip()
    api_name = str(spec.get("api_name") or api_name_of(label))
    labels = {str(d["field_label"]).lower() for d in taken.values()}
    if api_name.lower() in {n.lower() for n in taken} or label.lower() in labels:
        raise _refuse("DUPLICATE_DATA", "duplicate data", "field_label", where)
    values = spec.get("pick_list_values") or []
    if data_type in ("picklist", "multiselectpicklist") and not values:
        raise _refuse("MANDATORY_NOT_FOUND", "required field not found", "pick_list_values", where)
    length = spec.get("length", DEFAULT_LENGTH.get(data_type))
    if length is not None and (not isinstance(length, int) or isinstance(length, bool)):
        raise _refuse("INVALID_DATA", "invalid data", "length", where, expected_data_type="integer")
    unique = spec.get("unique")
    compact = {
        "api_name": api_name,
        "label": label,
        "data_type": data_type,
        "length": length,
        "decimal_place": spec.get("decimal_place", 2 if data_type == "currency" else None),
        "unique": {"case_sensitive": bool(unique.get("case_sensitive", False))}
        if isinstance(unique, Mapping)
        else ({"case_sensitive": False} if unique else {}),
        "pick_list_values": values,
    }
    return definition(module, compact, custom=True)


# checking values -----------------------------------------------------------------------------
def _type_ok(kind: str, json_type: str, value: Any) -> bool:
    if json_type == "string":
        return isinstance(value, str)
    if json_type == "double":
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and math.isfinite(value)
    if json_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if json_type == "boolean":
        return isinstance(value, bool)
    if json_type == "jsonarray":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, dict) and isinstance(value.get("id"), str)


def _format_ok(kind: str, value: Any) -> bool:
    if kind == "date":
        return bool(DATE_RE.match(value)) and _is_date(value)
    if kind == "datetime":
        return bool(DATETIME_RE.match(value))
    if kind == "email":
        return bool(EMAIL_RE.match(value))
    return True


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _too_long(definition: Mapping[str, Any], value: Any) -> bool:
    length = int(definition.get("length") or 0)
    if not length:
        return False
    if definition["json_type"] == "string":
        return isinstance(value, str) and len(value) > length
    if definition["json_type"] == "integer":
        return len(str(abs(value))) > length
    return False


def check_value(definition: Mapping[str, Any], value: Any, index: int) -> dict[str, Any] | None:
    """The error entry for one field value, or None when Zoho would take it (``None`` clears)."""
    name = str(definition["api_name"])
    if value is None:
        return None
    kind = str(definition["data_type"])
    if not _type_ok(kind, str(definition["json_type"]), value) or not (
        not isinstance(value, str) or _format_ok(kind, value)
    ):
        return error("INVALID_DATA", "invalid data", name, index, expected_data_type=kind)
    if _too_long(definition, value):
        length = int(definition["length"])
        return error("INVALID_DATA", "invalid data", name, index, maximum_length=length)
    options = [str(v["display_value"]) for v in definition.get("pick_list_values") or []]
    if options:
        chosen = value if isinstance(value, list) else [value]
        if any(v not in options for v in chosen if v != NONE_OPTION):
            shown = options[:MAX_SUPPORTED_VALUES]
            return error("INVALID_DATA", "invalid data", name, index, supported_values=shown)
    return None
