"""Custom fields through the Tooling API: ``POST /services/data/vXX.X/tooling/sobjects/CustomField``
with ``{"FullName": "Lead.Customer_Key__c", "Metadata": {"type": "Text", "label", "length",
"externalId", "unique", ...}}`` answers 201 ``{"id", "success", "errors", "warnings", "infos"}``.

The Metadata API's field types (``Text``, ``Checkbox``, ``Picklist``, …) become the describe types
(``string``, ``boolean``, ``picklist``, …) the new field then shows in ``describe``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.salesforce.sim.writes import BadRequest

TYPES: dict[str, tuple[str, int]] = {
    "Text": ("string", 255),
    "TextArea": ("textarea", 255),
    "LongTextArea": ("textarea", 32768),
    "Html": ("textarea", 32768),
    "EncryptedText": ("encryptedstring", 175),
    "Email": ("email", 80),
    "Phone": ("phone", 40),
    "Url": ("url", 255),
    "Checkbox": ("boolean", 0),
    "Number": ("double", 0),
    "Currency": ("currency", 0),
    "Percent": ("percent", 0),
    "Date": ("date", 0),
    "DateTime": ("datetime", 0),
    "Time": ("time", 0),
    "Picklist": ("picklist", 255),
    "MultiselectPicklist": ("multipicklist", 4099),
}
"""Metadata ``FieldType`` → (describe type, default length)."""


def _fail(message: str, code: str = "FIELD_INTEGRITY_EXCEPTION") -> BadRequest:
    return BadRequest(400, code, message)


def _options(metadata: Mapping[str, Any]) -> tuple[list[list[str]], bool]:
    value_set = metadata.get("valueSet")
    if not isinstance(value_set, Mapping):
        raise _fail("Picklist fields need a valueSet with at least one value")
    definition = value_set.get("valueSetDefinition")
    values = definition.get("value") if isinstance(definition, Mapping) else None
    if not isinstance(values, list) or not values:
        raise _fail("Picklist fields need a valueSet with at least one value")
    out = []
    for value in values:
        if not isinstance(value, Mapping) or not value.get("fullName"):
            raise _fail("Every picklist value needs a fullName")
        name = str(value["fullName"])
        out.append([name, str(value.get("label") or name)])
    return out, bool(value_set.get("restricted", False))


def describe_entry(body: Any, objects: set[str]) -> tuple[str, dict[str, Any]]:
    """``(SObject, describe-shaped field entry)`` for a ``CustomField`` create body."""
    if not isinstance(body, Mapping):
        raise _fail("The request body must be a CustomField", "JSON_PARSER_ERROR")
    full_name = str(body.get("FullName") or "")
    metadata = body.get("Metadata")
    obj, _, name = full_name.partition(".")
    if not name or not isinstance(metadata, Mapping):
        raise _fail(
            "FullName (Object.Field__c) and Metadata are required", "REQUIRED_FIELD_MISSING"
        )
    if obj not in objects:
        raise _fail(f"Cannot find an entity named {obj}", "INVALID_CROSS_REFERENCE_KEY")
    if not name.endswith("__c") or not name[:-3].replace("_", "").isalnum():
        raise _fail(f"Invalid custom field name: {name}")
    kind = str(metadata.get("type") or "")
    if kind not in TYPES:
        raise _fail(f"Invalid field type: {kind or 'none'}")
    describe_type, default_length = TYPES[kind]
    entry: dict[str, Any] = {
        "name": name,
        "label": str(metadata.get("label") or name[:-3].replace("_", " ")),
        "type": describe_type,
    }
    if default_length:
        entry["length"] = int(metadata.get("length") or default_length)
    if kind in ("Number", "Currency", "Percent"):
        entry["precision"] = int(metadata.get("precision") or 18)
        entry["scale"] = int(metadata.get("scale") or 0)
        if entry["scale"] > entry["precision"]:
            raise _fail("Decimal places can't be more than the length")
    if kind in ("Picklist", "MultiselectPicklist"):
        entry["picklistValues"], entry["restrictedPicklist"] = _options(metadata)
    external = bool(metadata.get("externalId", False))
    if external and kind not in ("Text", "Number", "Email"):
        raise _fail("Only Text, Number and Email fields can be External IDs")
    entry["externalId"] = external
    entry["unique"] = bool(metadata.get("unique", False))
    if metadata.get("required"):
        entry["nillable"] = False
    return obj, entry
