"""Property definitions and value checks of the simulated HubSpot account."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
EPOCH_MS_RE = re.compile(r"^-?\d{1,15}$")
EPOCH = "1970-01-01T00:00:00.000Z"

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)


def prop(
    name: str,
    label: str | None = None,
    type: str = "string",
    field_type: str = "text",
    *,
    group: str = "information",
    unique: bool = False,
    read_only: bool = False,
    options: Iterable[str] = (),
    created_at: str = EPOCH,
) -> dict[str, Any]:
    """A property in HubSpot's shape (``GET /crm/v3/properties/{objectType}``)."""
    return {
        "name": name,
        "label": label or name.replace("_", " ").title(),
        "type": type,
        "fieldType": field_type,
        "groupName": group,
        "description": "",
        "options": [
            {"label": o.title(), "value": o, "displayOrder": i, "hidden": False}
            for i, o in enumerate(options)
        ],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": unique,
        "hidden": False,
        "formField": not read_only,
        "modificationMetadata": {
            "archivable": not read_only,
            "readOnlyDefinition": read_only,
            "readOnlyValue": read_only,
        },
        "createdAt": created_at,
        "updatedAt": created_at,
        "archived": False,
    }


def custom_property(spec: str | Mapping[str, Any]) -> dict[str, Any]:
    """A property from a bare name or a (partial) HubSpot property-create body."""
    if isinstance(spec, str):
        return prop(spec, group="custom")
    return prop(
        str(spec["name"]),
        spec.get("label"),
        str(spec.get("type", "string")),
        str(spec.get("fieldType", "text")),
        group=str(spec.get("groupName", "custom")),
        unique=bool(spec.get("hasUniqueValue", False)),
    )


def _system(modified: str) -> list[dict[str, Any]]:
    return [
        prop("hs_object_id", "Record ID", "number", "number", read_only=True),
        prop("createdate", "Create Date", "datetime", "date", read_only=True),
        prop(modified, "Last Modified Date", "datetime", "date", read_only=True),
    ]


MODIFIED_PROPERTY = {"contacts": "lastmodifieddate"}
"""Contacts call it ``lastmodifieddate``; other objects ``hs_lastmodifieddate``."""

SYNCSVC_ID = prop("syncsvc_id", "syncsvc id", group="syncsvc", unique=True)

DEFAULT_PROPERTIES: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        prop("email", "Email", unique=True, group="contactinformation"),
        prop("firstname", "First Name", group="contactinformation"),
        prop("lastname", "Last Name", group="contactinformation"),
        prop("phone", "Phone Number", "string", "phonenumber", group="contactinformation"),
        prop("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_STAGES),
        prop("company", "Company Name", group="contactinformation"),
        *_system(MODIFIED_PROPERTY["contacts"]),
        SYNCSVC_ID,
    ],
    "companies": [
        prop("name", "Name", group="companyinformation"),
        prop("domain", "Company Domain Name", group="companyinformation"),
        prop("industry", "Industry", group="companyinformation"),
        prop("city", "City", group="companyinformation"),
        *_system("hs_lastmodifieddate"),
        SYNCSVC_ID,
    ],
    "deals": [
        prop("dealname", "Deal Name", group="dealinformation"),
        prop("amount", "Amount", "number", "number", group="dealinformation"),
        prop("dealstage", "Deal Stage", "enumeration", "radio", options=DEAL_STAGES),
        prop("pipeline", "Pipeline", "enumeration", "select", options=("default",)),
        prop("closedate", "Close Date", "datetime", "date", group="dealinformation"),
        *_system("hs_lastmodifieddate"),
        SYNCSVC_ID,
    ],
}


@dataclass(frozen=True)
class Invalid:
    """One reason a property value was refused, in HubSpot's terms."""

    name: str
    error: str
    message: str

    def as_detail(self) -> dict[str, Any]:
        return {"isValid": False, "message": self.message, "error": self.error, "name": self.name}


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    if EPOCH_MS_RE.match(value):
        return True
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def check_value(definition: Mapping[str, Any], value: str, strict_options: bool) -> Invalid | None:
    """Why ``value`` cannot be stored in the property, or None ("" always clears)."""
    name, kind = str(definition["name"]), definition["type"]
    if value == "":
        return None
    if name == "email" and not EMAIL_RE.match(value.strip()):
        return Invalid(name, "INVALID_EMAIL", f"Email address {value} is invalid")
    if kind == "number" and not _is_number(value):
        return Invalid(name, "INVALID_NUMBER", f"{value} was not a valid number.")
    if kind == "bool" and value.lower() not in ("true", "false"):
        return Invalid(name, "INVALID_BOOLEAN", f"{value} was not a valid boolean.")
    if kind == "date" and not (_is_date(value) or EPOCH_MS_RE.match(value)):
        return Invalid(name, "INVALID_DATE", f"{value} was not a valid date.")
    if kind == "datetime" and not _is_datetime(value):
        return Invalid(name, "INVALID_DATE", f"{value} was not a valid datetime.")
    allowed = [o["value"] for o in definition.get("options") or []]
    if kind == "enumeration" and strict_options and allowed and value not in allowed:
        return Invalid(
            name, "INVALID_OPTION", f"{value} was not one of the allowed options: {allowed}"
        )
    return None


def check_definition(body: Any) -> str | None:
    """Why a property-create body is refused, or None."""
    if not isinstance(body, dict):
        return "Invalid input JSON: expected an object"
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        return f"Invalid input JSON: some of required attributes are not set {missing}"
    if not NAME_RE.match(str(body["name"])):
        return f"Property name {body['name']!r} must be lowercase letters, digits and underscores"
    if body["type"] not in TYPES or body["fieldType"] not in FIELD_TYPES:
        return f"Unsupported type/fieldType {body['type']}/{body['fieldType']}"
    return None
