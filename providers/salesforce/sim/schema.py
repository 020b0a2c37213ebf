"""Field definitions of the simulated org (describe shapes) and the checks on written values."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
TEXT = {
    "string",
    "email",
    "phone",
    "url",
    "picklist",
    "multipicklist",
    "textarea",
    "id",
    "reference",
}
NUMBER = {"currency", "double", "percent", "int"}
SOAP = {"currency": "xsd:double", "double": "xsd:double", "percent": "xsd:double", "int": "xsd:int"}
SOAP |= {"date": "xsd:date", "datetime": "xsd:dateTime", "boolean": "xsd:boolean", "id": "tns:ID"}
STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
    "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
    "Entertainment", "Environmental", "Finance", "Healthcare", "Hospitality", "Insurance",
    "Machinery", "Manufacturing", "Media", "Other", "Recreation", "Retail", "Shipping",
    "Technology", "Telecommunications", "Transportation", "Utilities",
)  # fmt: skip


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str
    type: str = "string"
    length: int = 0
    required: bool = False
    """Not nillable and createable: a create without it fails ``REQUIRED_FIELD_MISSING``."""
    writable: bool = True
    external_id: bool = False
    unique: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    custom: bool = False

    def describe(self) -> dict[str, Any]:
        """The field as ``GET /sobjects/{SObject}/describe`` lists it (the commonly read keys)."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "soapType": SOAP.get(self.type, "xsd:string"),
            "length": self.length,
            "byteLength": self.length * 3,
            "precision": 18 if self.type == "currency" else 0,
            "scale": 2 if self.type == "currency" else 0,
            "nillable": not self.required and self.name != "Id",
            "createable": self.writable,
            "updateable": self.writable,
            "defaultedOnCreate": not self.writable,
            "calculated": False,
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.external_id or self.name == "Id" or self.type == "email",
            "filterable": True,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                for v in self.picklist
            ],
        }


def _token(value: Any) -> str:
    """The JSON token a streaming (Jackson) parser names for ``value``."""
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "START_ARRAY" if isinstance(value, list) else "VALUE_STRING"


class BadValue(Exception):
    """A value the JSON deserializer cannot put into the field: the whole request fails."""

    def __init__(self, definition: FieldDef, value: Any) -> None:
        super().__init__(
            f"Cannot deserialize instance of {definition.type} from {_token(value)} value "
            f"{value} or request may be missing a required field"
        )
        self.field = definition.name
        self.value = value


def _system() -> list[FieldDef]:
    return [
        FieldDef("Id", "Record ID", "id", 18, writable=False),
        FieldDef("IsDeleted", "Deleted", "boolean", writable=False),
        FieldDef("CreatedDate", "Created Date", "datetime", writable=False),
        FieldDef("LastModifiedDate", "Last Modified Date", "datetime", writable=False),
        FieldDef("SystemModstamp", "System Modstamp", "datetime", writable=False),
    ]


def key_field(name: str = "Syncsvc_Id__c") -> FieldDef:
    return FieldDef(name, "Syncsvc Id", "string", 255, external_id=True, unique=True, custom=True)


OBJECTS: dict[str, tuple[str, str, list[FieldDef]]] = {
    "Contact": ("003", "Contacts", [
        FieldDef("FirstName", "First Name", length=40),
        FieldDef("LastName", "Last Name", length=80, required=True),
        FieldDef("Name", "Full Name", length=121, writable=False),
        FieldDef("Email", "Email", "email", 80),
        FieldDef("Phone", "Business Phone", "phone", 40),
        FieldDef("Title", "Title", length=128),
        FieldDef("AccountId", "Account ID", "reference", 18),
    ]),
    "Account": ("001", "Accounts", [
        FieldDef("Name", "Account Name", length=255, required=True),
        FieldDef("Website", "Website", "url", 255),
        FieldDef("Industry", "Industry", "picklist", 255, picklist=INDUSTRIES),
        FieldDef("BillingCity", "Billing City", length=40),
        FieldDef("Phone", "Account Phone", "phone", 40),
    ]),
    "Opportunity": ("006", "Opportunities", [
        FieldDef("Name", "Name", length=120, required=True),
        FieldDef("Amount", "Amount", "currency"),
        FieldDef("StageName", "Stage", "picklist", 255, required=True, picklist=STAGES),
        FieldDef("CloseDate", "Close Date", "date", required=True),
        FieldDef("AccountId", "Account ID", "reference", 18),
        FieldDef("IsClosed", "Closed", "boolean", writable=False),
        FieldDef("IsWon", "Won", "boolean", writable=False),
    ]),
}  # fmt: skip


def custom_field(spec: str | Mapping[str, Any]) -> FieldDef:
    """A custom field from a bare API name or ``{"name", "type"?, "length"?, "externalId"?,
    "unique"?}``."""
    if isinstance(spec, str):
        spec = {"name": spec}
    name = str(spec["name"])
    if not name.endswith("__c"):
        raise ValueError(f"custom field {name!r} must end in __c")
    kind = str(spec.get("type", "string"))
    length = int(spec.get("length", 255 if kind in TEXT else 0))
    external = bool(spec.get("externalId", False))
    unique = bool(spec.get("unique", external))
    label = str(spec.get("label", name[:-3].replace("_", " ")))
    return FieldDef(name, label, kind, length, external_id=external, unique=unique, custom=True)


def object_fields(
    name: str, key: str, custom: Iterable[str | Mapping[str, Any]], restricted: bool
) -> dict[str, FieldDef]:
    fields = [*_system(), *OBJECTS[name][2], key_field(key), *map(custom_field, custom)]
    out = {}
    for definition in fields:
        if definition.name == "StageName":
            definition = replace(definition, restricted=restricted)
        out[definition.name] = definition
    return out


def convert(definition: FieldDef, value: Any) -> Any:
    """The stored form of a JSON value, or ``BadValue`` (``None`` and ``""`` clear the field)."""
    if value is None or value == "":
        return None
    kind = definition.type
    if kind in TEXT:
        if isinstance(value, dict | list):
            raise BadValue(definition, value)
        return value if isinstance(value, str) else json.dumps(value)
    if kind in NUMBER:
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            raise BadValue(definition, value) from None
        if not math.isfinite(number):
            raise BadValue(definition, value)
        return int(number) if kind == "int" else number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise BadValue(definition, value)
    if kind in ("date", "datetime") and isinstance(value, str):
        try:
            parsed = (
                dt.date.fromisoformat(value) if kind == "date" else dt.datetime.fromisoformat(value)
            )
        except ValueError:
            raise BadValue(definition, value) from None
        return parsed.isoformat() if kind == "date" else value
    raise BadValue(definition, value)


@dataclass
class Problems:
    """Per-record errors, in Salesforce's ``{"statusCode", "message", "fields"}`` shape."""

    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, code: str, message: str, fields: Iterable[str] = ()) -> None:
        self.errors.append({"statusCode": code, "message": message, "fields": list(fields)})


def check_values(
    definitions: Mapping[str, FieldDef], values: Mapping[str, Any], problems: Problems
) -> None:
    """Length, email and restricted-picklist checks of converted values."""
    for name, value in values.items():
        definition = definitions[name]
        if value is None:
            continue
        if definition.type in TEXT and definition.length and len(str(value)) > definition.length:
            message = (
                f"{definition.label}: data value too large: {value} "
                f"(max length={definition.length})"
            )
            problems.add("STRING_TOO_LONG", message, [name])
        elif definition.type == "email" and not EMAIL_RE.match(str(value)):
            problems.add(
                "INVALID_EMAIL_ADDRESS",
                f"{definition.label}: invalid email address: {value}",
                [name],
            )
        elif definition.restricted and value not in definition.picklist:
            message = f"{definition.label}: bad value for restricted picklist field: {value}"
            problems.add("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", message, [name])
