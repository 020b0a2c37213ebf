"""Tables and columns of the simulated Dataverse environment, and the checks on written values.

Error codes and texts follow the Web API where documented: unknown properties fail the OData
payload check (``0x80048d19``), an over-long string gives the documented ``0x80044331`` "A
validation error occurred. The length of the 'x' attribute …" text. Required columns, e-mail
format and choice ranges are checked with the same envelope (see the report for what is assumed).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.dynamics.defaults import KEY_ATTRIBUTE

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_RANGE = (-2_147_483_648, 2_147_483_647)
MONEY_RANGE = (-922_337_203_685_477, 922_337_203_685_477)
PAYLOAD_HELP = "https://go.microsoft.com/fwlink/?linkid=2195293"
EDM = {"Integer": "Edm.Int32", "Picklist": "Edm.Int32", "Money": "Edm.Decimal", "Boolean":
       "Edm.Boolean", "DateOnly": "Edm.Date", "DateTime": "Edm.DateTimeOffset"}  # fmt: skip


@dataclass(frozen=True)
class Attribute:
    name: str
    kind: str = "String"
    """String, Memo, Integer, Picklist, Money, Boolean, DateOnly, DateTime, Uniqueidentifier."""
    max_length: int | None = None
    options: tuple[int, ...] = ()
    required: bool = False
    read_only: bool = False
    email: bool = False
    custom: bool = False

    def metadata(self, logical_name: str) -> dict[str, Any]:
        """The attribute as ``EntityDefinitions(…)/Attributes`` lists it."""
        level = "SystemRequired" if self.read_only and self.kind == "Uniqueidentifier" else (
            "ApplicationRequired" if self.required else "None")  # fmt: skip
        kind = {"DateOnly": "DateTime", "Memo": "Memo"}.get(self.kind, self.kind)
        body: dict[str, Any] = {
            "@odata.type": f"#Microsoft.Dynamics.CRM.{kind}AttributeMetadata",
            "LogicalName": self.name,
            "SchemaName": self.name,
            "AttributeType": kind,
            "MetadataId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{logical_name}.{self.name}")),
            "RequiredLevel": {"Value": level, "CanBeChanged": not self.read_only},
            "IsValidForCreate": not self.read_only,
            "IsValidForUpdate": not self.read_only,
            "IsCustomAttribute": self.custom,
        }
        if self.max_length is not None:
            body["MaxLength"] = self.max_length
        return body


@dataclass(frozen=True)
class TableDef:
    entity_set: str
    logical_name: str
    attributes: tuple[Attribute, ...]
    keys: tuple[tuple[str, ...], ...] = ((KEY_ATTRIBUTE,),)
    """Alternate keys (column sets with unique values)."""

    @property
    def primary_key(self) -> str:
        return f"{self.logical_name}id"

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    def with_custom(self, names: Iterable[str]) -> TableDef:
        extra = tuple(Attribute(str(n), max_length=4000, custom=True) for n in names)
        return TableDef(self.entity_set, self.logical_name, self.attributes + extra, self.keys)


def _system(logical: str) -> tuple[Attribute, ...]:
    return (
        Attribute(f"{logical}id", "Uniqueidentifier", read_only=True),
        Attribute("createdon", "DateTime", read_only=True),
        Attribute("modifiedon", "DateTime", read_only=True),
        Attribute("statecode", "Picklist", options=(0, 1)),
        Attribute("description", "Memo", max_length=2000),
        Attribute(KEY_ATTRIBUTE, max_length=100, custom=True),
    )


TABLES: dict[str, TableDef] = {
    "contacts": TableDef("contacts", "contact", (
        *_system("contact"),
        Attribute("firstname", max_length=50),
        Attribute("lastname", max_length=50, required=True),
        Attribute("fullname", max_length=160, read_only=True),
        Attribute("emailaddress1", max_length=100, email=True),
        Attribute("emailaddress2", max_length=100, email=True),
        Attribute("telephone1", max_length=50),
        Attribute("mobilephone", max_length=50),
        Attribute("jobtitle", max_length=100),
        Attribute("address1_city", max_length=80),
    )),
    "accounts": TableDef("accounts", "account", (
        *_system("account"),
        Attribute("name", max_length=160, required=True),
        Attribute("accountnumber", max_length=20),
        Attribute("websiteurl", max_length=200),
        Attribute("telephone1", max_length=50),
        Attribute("emailaddress1", max_length=100, email=True),
        Attribute("address1_city", max_length=80),
        Attribute("industrycode", "Picklist", options=tuple(range(1, 34))),
        Attribute("revenue", "Money"),
        Attribute("numberofemployees", "Integer"),
    )),
    "opportunities": TableDef("opportunities", "opportunity", (
        *_system("opportunity"),
        Attribute("name", max_length=300, required=True),
        Attribute("estimatedvalue", "Money"),
        Attribute("estimatedclosedate", "DateOnly"),
        Attribute("salesstage", "Picklist", options=(0, 1, 2, 3)),
        Attribute("stepname", max_length=200),
        Attribute("closeprobability", "Integer"),
    )),
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """Why a write is refused, as Dataverse answers it."""

    status: int
    code: str
    message: str


def payload_problem(table: TableDef, inner: str) -> Problem:
    message = (
        f"Error identified in Payload provided by the user for Entity :'{table.entity_set}', "
        f"For more information on this error please follow this help link {PAYLOAD_HELP}  "
        f"---->  InnerException : Microsoft.OData.ODataException: {inner}"
    )
    return Problem(400, "0x80048d19", message)


def _validation(message: str) -> Problem:
    return Problem(400, "0x80044331", f"A validation error occurred.  {message}")


def _type_ok(attribute: Attribute, value: Any) -> bool:
    kind = attribute.kind
    if kind in ("String", "Memo", "Uniqueidentifier"):
        return isinstance(value, str)
    if kind in ("Integer", "Picklist"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "Money":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "Boolean":
        return isinstance(value, bool)
    if kind == "DateOnly":
        return isinstance(value, str) and bool(DATE_RE.match(value)) and _parses(value, True)
    return isinstance(value, str) and _parses(value, False)


def _parses(value: str, date_only: bool) -> bool:
    try:
        if date_only:
            dt.date.fromisoformat(value)
        else:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def check_value(table: TableDef, attribute: Attribute, value: Any) -> Problem | None:
    name, logical = attribute.name, table.logical_name
    if value is None:
        return None
    if not _type_ok(attribute, value):
        edm = EDM.get(attribute.kind, "Edm.String")
        return payload_problem(
            table, f"Cannot convert the literal '{value}' to the expected type '{edm}' "
            f"of property '{name}'.",
        )  # fmt: skip
    too_long = isinstance(value, str) and len(value) > (attribute.max_length or len(value))
    if too_long:
        return _validation(
            f"The length of the '{name}' attribute of the '{logical}' entity exceeded the "
            f"maximum allowed length of '{attribute.max_length}'."
        )
    if attribute.email and isinstance(value, str) and value and not EMAIL_RE.match(value):
        return _validation(
            f"The value '{value}' of the '{name}' attribute of the '{logical}' entity is not "
            "a valid e-mail address."
        )
    low, high = MONEY_RANGE if attribute.kind == "Money" else INT_RANGE
    if attribute.kind in ("Money", "Integer") and not low <= value <= high:
        return _validation(f"The value {value} of '{name}' is outside the valid range.")
    if attribute.options and value not in attribute.options:
        accepted = ",".join(str(o) for o in attribute.options)
        return Problem(
            400, "0x8004431a",
            f"A validation error occurred. The value {value} of '{name}' on record of type "
            f"'{logical}' is outside the valid range. Accepted Values: {accepted}",
        )  # fmt: skip
    return None


def check(
    table: TableDef, values: Mapping[str, Any], creating: bool, check_required: bool = True
) -> Problem | None:
    """The first reason ``values`` cannot be written (``creating``: a new record)."""
    for name, value in values.items():
        attribute = table.attribute(name)
        if attribute is None:
            return payload_problem(
                table, f"The property '{name}' does not exist on type "
                f"'Microsoft.Dynamics.CRM.{table.logical_name}'. Make sure to only use property "
                "names that are defined by the type or mark the type as open type.",
            )  # fmt: skip
        if attribute.read_only:
            return payload_problem(table, f"The property '{name}' is read-only.")
        problem = check_value(table, attribute, value)
        if problem is not None:
            return problem
    required = [a.name for a in table.attributes if a.required] if check_required else []
    for name in required:
        missing = values.get(name) in (None, "") if creating else (
            name in values and values[name] in (None, ""))  # fmt: skip
        if missing:
            return _validation(
                f"The '{name}' attribute of the '{table.logical_name}' entity is required "
                "and cannot be empty."
            )
    return None
