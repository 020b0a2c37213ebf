"""Writes checked against the table's columns the way Dataverse refuses them.

Two envelopes, both ``{"error": {"code", "message"}}`` with HTTP 400: the OData layer refuses
what it cannot read into the column's EDM type or a property the table does not have
(``0x80048d19`` "Error identified in Payload provided by the user …"); the platform refuses
values it can read but not store (``0x80044331`` "A validation error occurred. The length of the
'x' attribute …", ``0x8004431a`` a choice value outside the column's options).

Dataverse enforces a column's MaxLength, its type, its range and its choice values on every
write. It does not enforce RequiredLevel ``ApplicationRequired`` ("Business required") on API
calls, only forms do; ``enforce_required`` makes the simulator refuse such creates anyway, as an
environment with a validating plug-in would. E-mail format is checked for ``Email`` columns
(an assumption, kept from earlier versions of this simulator).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.dynamics.sim.schema import Attribute, TableDef

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INT_RANGE = (-2_147_483_648, 2_147_483_647)
BIGINT_RANGE = (-9_223_372_036_854_775_808, 9_223_372_036_854_775_807)
MONEY_RANGE = (-922_337_203_685_477, 922_337_203_685_477)
PAYLOAD_HELP = "https://go.microsoft.com/fwlink/?linkid=2195293"
EDM = {"Integer": "Edm.Int32", "BigInt": "Edm.Int64", "Picklist": "Edm.Int32", "State": "Edm.Int32",
       "Status": "Edm.Int32", "Money": "Edm.Decimal", "Decimal": "Edm.Decimal", "Double":
       "Edm.Double", "Boolean": "Edm.Boolean", "Uniqueidentifier": "Edm.Guid"}  # fmt: skip
WHOLE = ("Integer", "BigInt", "Picklist", "State", "Status")
NUMBER = ("Money", "Decimal", "Double")
LOOKUPS = ("Lookup", "Customer", "Owner")


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


def _edm(attribute: Attribute) -> str:
    if attribute.kind == "DateTime":
        return "Edm.Date" if attribute.date_only else "Edm.DateTimeOffset"
    return EDM.get(attribute.kind, "Edm.String")


def _moment(value: str, date_only: bool) -> bool:
    try:
        if date_only:
            return bool(DATE_RE.match(value)) and dt.date.fromisoformat(value) is not None
        if len(value) <= 10:
            return False  # a DateTimeOffset literal has a time and an offset
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _type_ok(attribute: Attribute, value: Any) -> bool:
    kind = attribute.kind
    if kind in WHOLE:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "Boolean":
        return isinstance(value, bool)
    if not isinstance(value, str):
        return False
    if kind == "DateTime":
        return _moment(value, attribute.date_only)
    if kind == "Uniqueidentifier":
        return _guid(value)
    return True


def _outside_options(table: TableDef, attribute: Attribute, shown: Any) -> Problem:
    accepted = ",".join(str(o) for o in attribute.option_values)
    return Problem(
        400, "0x8004431a",
        f"A validation error occurred. The value {shown} of '{attribute.name}' on record of type "
        f"'{table.logical_name}' is outside the valid range. Accepted Values: {accepted}",
    )  # fmt: skip


def _range(attribute: Attribute) -> tuple[float, float]:
    low, high = (
        MONEY_RANGE if attribute.kind == "Money" else
        BIGINT_RANGE if attribute.kind == "BigInt" else INT_RANGE
    )  # fmt: skip
    return (
        low if attribute.minimum is None else attribute.minimum,
        high if attribute.maximum is None else attribute.maximum,
    )


def check_value(table: TableDef, attribute: Attribute, value: Any) -> Problem | None:
    name, logical = attribute.name, table.logical_name
    if value is None:
        return None
    if attribute.kind in LOOKUPS:
        return payload_problem(
            table, f"The property '{name}' is a lookup: set it with '{name}@odata.bind' and the "
            "related record's URL.",
        )  # fmt: skip
    if not _type_ok(attribute, value):
        return payload_problem(
            table, f"Cannot convert the literal '{value}' to the expected type '{_edm(attribute)}' "
            f"of property '{name}'.",
        )  # fmt: skip
    length = attribute.max_length
    if isinstance(value, str) and length is not None and len(value) > length:
        return _validation(
            f"The length of the '{name}' attribute of the '{logical}' entity exceeded the "
            f"maximum allowed length of '{length}'."
        )
    if attribute.format == "Email" and isinstance(value, str) and not EMAIL_RE.match(value):
        return _validation(
            f"The value '{value}' of the '{name}' attribute of the '{logical}' entity is not "
            "a valid e-mail address."
        )
    if attribute.kind == "MultiSelectPicklist":
        parts = [p.strip() for p in str(value).split(",") if p.strip()]
        if not all(p.lstrip("-").isdigit() and int(p) in attribute.option_values for p in parts):
            return _outside_options(table, attribute, value)
        return None
    if attribute.options and attribute.kind != "Boolean" and value not in attribute.option_values:
        return _outside_options(table, attribute, value)
    if attribute.kind in (*NUMBER, "Integer", "BigInt"):
        low, high = _range(attribute)
        if not low <= value <= high:
            return _validation(
                f"The value {value} of '{name}' on record of type '{logical}' is outside the "
                f"valid range. Accepted range: {low:g} to {high:g}"
            )
    return None


def _allowed(table: TableDef, attribute: Attribute, creating: bool) -> Problem | None:
    if creating and not attribute.create:
        return payload_problem(table, f"The property '{attribute.name}' is not valid for create.")
    if not creating and not attribute.update:
        return payload_problem(table, f"The property '{attribute.name}' is read-only.")
    return None


def check(
    table: TableDef, values: Mapping[str, Any], creating: bool, check_required: bool = False
) -> Problem | None:
    """The first reason ``values`` cannot be written (``creating``: a new record)."""
    for name, value in values.items():
        if "@odata.bind" in name:
            continue
        attribute = table.attribute(name)
        if attribute is None:
            return payload_problem(
                table, f"The property '{name}' does not exist on type "
                f"'Microsoft.Dynamics.CRM.{table.logical_name}'. Make sure to only use property "
                "names that are defined by the type or mark the type as open type.",
            )  # fmt: skip
        problem = _allowed(table, attribute, creating) or check_value(table, attribute, value)
        if problem is not None:
            return problem
    if not check_required:
        return None
    for attribute in table.attributes:
        if attribute.required != "ApplicationRequired":
            continue
        name = attribute.name
        missing = values.get(name) in (None, "") if creating else (
            name in values and values[name] in (None, ""))  # fmt: skip
        if missing:
            return _validation(
                f"The '{name}' attribute of the '{table.logical_name}' entity is required "
                "and cannot be empty."
            )
    return None
