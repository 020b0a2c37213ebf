"""Field definitions of the simulated Zoho modules (``GET /settings/fields`` shape) and the
value checks Zoho applies to records (``INVALID_DATA`` / ``MANDATORY_NOT_FOUND`` entries)."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from providers.zoho.defaults import KEY_FIELD

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)$")
JSON_TYPES = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string",
    "website": "string", "picklist": "string", "currency": "double", "double": "double",
    "integer": "integer", "boolean": "boolean", "date": "string", "datetime": "string",
    "lookup": "jsonobject", "ownerlookup": "jsonobject",
}  # fmt: skip
DEAL_STAGES = (
    "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won",
    "Closed Lost", "Closed-Lost to Competition",
)  # fmt: skip
LEAD_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Web Download",
)
SYSTEM_DUPLICATE_CHECK = {"Contacts": "Email", "Accounts": "Account_Name", "Deals": "Deal_Name"}
"""System-defined duplicate-check fields, matched first when an upsert names none."""


def field(
    api_name: str,
    data_type: str = "text",
    length: int = 255,
    *,
    mandatory: bool = False,
    unique: bool = False,
    custom: bool = False,
    read_only: bool = False,
    picklist: Iterable[str] = (),
    restricted: bool = False,
) -> dict[str, Any]:
    label = api_name.replace("_", " ")
    definition: dict[str, Any] = {
        "api_name": api_name,
        "field_label": label,
        "display_label": label,
        "data_type": data_type,
        "json_type": JSON_TYPES.get(data_type, "string"),
        "length": length,
        "system_mandatory": mandatory,
        "custom_field": custom,
        "read_only": read_only,
        "visible": True,
        "unique": {"casesensitive": False} if unique else {},
        "pick_list_values": [
            {"display_value": v, "actual_value": v, "sequence_number": i + 1}
            for i, v in enumerate(picklist)
        ],
        "id": str(5725767 * 10**12 + zlib.crc32(api_name.encode())),
    }
    if restricted:
        definition["restricted_picklist"] = True  # simulator flag: values outside are refused
    return definition


def _common() -> list[dict[str, Any]]:
    return [
        field("Owner", "ownerlookup"),
        field("Description", "textarea", 32000),
        field("Created_Time", "datetime", read_only=True),
        field("Modified_Time", "datetime", read_only=True),
        field(KEY_FIELD, "text", 255, unique=True, custom=True),
    ]


MODULE_FIELDS: dict[str, list[dict[str, Any]]] = {
    "Contacts": [
        field("First_Name", "text", 40),
        field("Last_Name", "text", 80, mandatory=True),
        field("Full_Name", "text", 120, read_only=True),
        field("Email", "email", 100),
        field("Secondary_Email", "email", 100),
        field("Phone", "phone", 30),
        field("Mobile", "phone", 30),
        field("Title", "text", 100),
        field("Department", "text", 100),
        field("Account_Name", "lookup"),
        field("Mailing_City", "text", 30),
        field("Mailing_Country", "text", 30),
        field("Date_of_Birth", "date"),
        field("Email_Opt_Out", "boolean"),
        field("Lead_Source", "picklist", 120, picklist=LEAD_SOURCES),
        *_common(),
    ],
    "Accounts": [
        field("Account_Name", "text", 200, mandatory=True),
        field("Website", "website", 255),
        field("Phone", "phone", 30),
        field("Industry", "picklist", 120, picklist=("Technology", "Retail", "Finance")),
        field("Account_Type", "picklist", 120, picklist=("Customer", "Partner", "Prospect")),
        field("Employees", "integer", 9),
        field("Annual_Revenue", "currency", 16),
        field("Billing_Street", "text", 250),
        field("Billing_City", "text", 30),
        field("Billing_State", "text", 30),
        field("Billing_Code", "text", 30),
        field("Billing_Country", "text", 30),
        *_common(),
    ],
    "Deals": [
        field("Deal_Name", "text", 120, mandatory=True),
        field("Amount", "currency", 16),
        field("Stage", "picklist", 120, mandatory=True, picklist=DEAL_STAGES, restricted=True),
        field("Closing_Date", "date", mandatory=True),
        field("Account_Name", "lookup"),
        field("Contact_Name", "lookup"),
        field("Type", "picklist", 120, picklist=("New Business", "Existing Business")),
        field("Lead_Source", "picklist", 120, picklist=LEAD_SOURCES),
        field("Probability", "integer", 3),
        field("Next_Step", "text", 100),
        *_common(),
    ],
}


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


def _type_problem(definition: Mapping[str, Any], value: Any) -> str | None:
    """The expected data type when ``value`` is not one, else None."""
    kind = definition["data_type"]
    json_type = definition["json_type"]
    if json_type == "string":
        ok = isinstance(value, str)
    elif json_type == "double":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif json_type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif json_type == "boolean":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, dict) and isinstance(value.get("id"), str)
    if ok and kind == "date":
        ok = bool(DATE_RE.match(value)) and _is_date(value)
    if ok and kind == "datetime":
        ok = bool(DATETIME_RE.match(value))
    if ok and kind == "email":
        ok = bool(EMAIL_RE.match(value))
    return None if ok else str(kind)


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_value(definition: Mapping[str, Any], value: Any, index: int) -> dict[str, Any] | None:
    """The error entry for one field value, or None when Zoho would take it."""
    name = str(definition["api_name"])
    if value is None:
        return None
    expected = _type_problem(definition, value)
    if expected is not None:
        return error("INVALID_DATA", "invalid data", name, index, expected_data_type=expected)
    length = int(definition.get("length") or 0)
    if isinstance(value, str) and length and len(value) > length:
        return error("INVALID_DATA", "invalid data", name, index, maximum_length=length)
    if definition.get("restricted_picklist"):
        allowed = [v["actual_value"] for v in definition["pick_list_values"]]
        if value not in allowed:
            return error("INVALID_DATA", "invalid data", name, index, supported_values=allowed)
    return None
