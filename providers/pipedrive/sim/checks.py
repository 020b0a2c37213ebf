"""Validation of API v2 request bodies, as strict as v2 is: no string-to-number coercion,
booleans only as true/false, dates as YYYY-MM-DD, option fields by option id, text by length,
custom fields only by their keys.

Every refusal names the path and a reason, and its ``kind`` (``unknown_field``, ``read_only``,
``wrong_type``, ``bad_option``, ``too_long``, ``required``) is counted in ``/_sim/stats``. v2's
documented wording is used where it is known: ``Parameter 'x' is not allowed for this request``
for keys the request schema lacks, ``Expected 'number' as value for single option custom field``
for wrong custom values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.pipedrive.defaults import MAX_LENGTH
from providers.pipedrive.sim.fields import FieldSet

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
REQUIRED = {"persons": "name", "organizations": "name", "deals": "title"}
KINDS = ("unknown_field", "read_only", "wrong_type", "bad_option", "too_long", "required")


@dataclass(frozen=True)
class Invalid:
    path: str
    message: str
    kind: str = "wrong_type"


Problem = tuple[str, str]
"""(kind, message)."""
Check = Callable[[Any, FieldSet, str], Problem | None]
"""Checks one value of the field ``key`` (the account's options may matter)."""


def _string(limit: int = 255) -> Check:
    def check(value: Any, fields: FieldSet, key: str) -> Problem | None:
        if not isinstance(value, str):
            return "wrong_type", "must be a string"
        if len(value) > limit:
            return "too_long", f"must be at most {limit} characters"
        return None

    return check


def _integer(value: Any, fields: FieldSet, key: str) -> Problem | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok else ("wrong_type", "must be an integer")


def _number(value: Any, fields: FieldSet, key: str) -> Problem | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return None if ok else ("wrong_type", "must be a number")


def _boolean(value: Any, fields: FieldSet, key: str) -> Problem | None:
    return None if isinstance(value, bool) else ("wrong_type", "must be a boolean")


def _pattern(regex: re.Pattern[str], what: str) -> Check:
    def check(value: Any, fields: FieldSet, key: str) -> Problem | None:
        return None if isinstance(value, str) and regex.match(value) else ("wrong_type", what)

    return check


def _one_of(*choices: Any) -> Check:
    def check(value: Any, fields: FieldSet, key: str) -> Problem | None:
        if value in choices and not isinstance(value, bool):
            return None
        return "bad_option", f"must be one of {', '.join(map(str, choices))}"

    return check


def _option_ids(v1_key: str) -> Check:
    """An array of option ids of the account's field ``v1_key`` (labels)."""

    def check(value: Any, fields: FieldSet, key: str) -> Problem | None:
        if not isinstance(value, list) or any(_integer(v, fields, key) for v in value):
            return "wrong_type", "must be an array of integers"
        unknown = [v for v in value if v not in fields.option_ids_of(v1_key)]
        return ("bad_option", f"label {unknown[0]} does not exist") if unknown else None

    return check


def _contacts(email: bool) -> Check:
    def check(value: Any, fields: FieldSet, key: str) -> Problem | None:
        if not isinstance(value, list):
            return "wrong_type", "must be an array"
        for index, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                return "wrong_type", f"[{index}].value is required"
            if len(item["value"]) > 255:
                return "too_long", f"[{index}].value must be at most 255 characters"
            if email and not EMAIL_RE.match(item["value"]):
                return "wrong_type", f"[{index}].value is not a valid email address"
            if "primary" in item and not isinstance(item["primary"], bool):
                return "wrong_type", f"[{index}].primary must be a boolean"
        return None

    return check


def _address(value: Any, fields: FieldSet, key: str) -> Problem | None:
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        return "wrong_type", "must be an object with a string value"
    return None


_DATE = _pattern(DATE_RE, "must be a date (YYYY-MM-DD)")
_TIME = _pattern(DATETIME_RE, "must be an RFC 3339 date-time")
_COMMON: dict[str, Check] = {
    "owner_id": _integer,
    "visible_to": _one_of(1, 3, 5, 7),
    "add_time": _TIME,
    "update_time": _TIME,
}
STANDARD: dict[str, dict[str, Check]] = {
    "persons": {
        **_COMMON,
        "name": _string(),
        "org_id": _integer,
        "emails": _contacts(email=True),
        "phones": _contacts(email=False),
        "label_ids": _option_ids("label_ids"),
        "marketing_status": _one_of("no_consent", "unsubscribed", "subscribed", "archived"),
    },
    "organizations": {
        **_COMMON,
        "name": _string(),
        "address": _address,
        "website": _string(),
        "linkedin": _string(),
        "label_ids": _option_ids("label_ids"),
        "industry": _integer,
        "annual_revenue": _number,
        "employee_count": _integer,
    },
    "deals": {
        **_COMMON,
        "title": _string(),
        "person_id": _integer,
        "org_id": _integer,
        "pipeline_id": _integer,
        "stage_id": _integer,
        "value": _number,
        "currency": _pattern(CURRENCY_RE, "must be a 3-letter currency code"),
        "status": _one_of("open", "won", "lost"),
        "probability": _integer,
        "lost_reason": _string(),
        "expected_close_date": _DATE,
        "close_time": _TIME,
        "won_time": _TIME,
        "lost_time": _TIME,
        "is_archived": _boolean,
        "archive_time": _TIME,
    },
}
"""The v2 request body of each object: what a create or update may carry besides
``custom_fields``."""

CUSTOM_NOUNS = {
    "varchar": "text",
    "varchar_auto": "autocomplete",
    "text": "large text",
    "phone": "phone",
    "double": "numerical",
    "monetary": "monetary",
    "enum": "single option",
    "set": "multiple options",
    "date": "date",
    "time": "time",
    "user": "user",
    "org": "organization",
    "people": "person",
    "address": "address",
}
EXPECTED = {
    "varchar": "string",
    "varchar_auto": "string",
    "text": "string",
    "phone": "string",
    "double": "number",
    "enum": "number",
    "user": "number",
    "org": "number",
    "people": "number",
    "set": "array",
    "date": "string",
    "time": "string",
    "monetary": "object",
    "address": "object",
}


def _custom_problem(field_type: str, value: Any, fields: FieldSet, key: str) -> Problem | None:
    expected = EXPECTED.get(field_type)
    if expected is None:  # daterange, timerange: not checked
        return None
    if expected == "string" and not isinstance(value, str):
        return "wrong_type", "string"
    if expected == "number" and _number(value, fields, key):
        return "wrong_type", "number"
    if expected == "array" and (
        not isinstance(value, list) or any(_integer(v, fields, key) for v in value)
    ):
        return "wrong_type", "array of numbers"
    if field_type == "monetary" and _number(
        value.get("value") if isinstance(value, dict) else None, fields, key
    ):
        return "wrong_type", "object with a numeric value"
    if field_type == "address" and _address(value, fields, key):
        return "wrong_type", "object with a string value"
    if field_type == "date" and not DATE_RE.match(value):
        return "wrong_type", "date in the format YYYY-MM-DD"
    if field_type == "time" and not TIME_RE.match(value):
        return "wrong_type", "time in the format HH:MM:SS"
    limit = MAX_LENGTH.get(field_type)
    if limit is not None and len(value) > limit:
        return "too_long", str(limit)
    if field_type in ("enum", "set"):
        allowed = fields.option_ids_of(key)
        chosen = value if isinstance(value, list) else [value]
        unknown = [v for v in chosen if v not in allowed]
        if unknown:
            return "bad_option", str(unknown[0])
    return None


def _custom_message(kind: str, detail: str, field_type: str, key: str) -> str:
    noun = CUSTOM_NOUNS.get(field_type, field_type)
    if kind == "too_long":
        return f"Value of {noun} custom field '{key}' is longer than {detail} characters"
    if kind == "bad_option":
        return f"Option with id {detail} does not exist for {noun} custom field '{key}'"
    return f"Expected '{detail}' as value for {noun} custom field '{key}'"


def check_body(
    object_name: str, body: Mapping[str, Any], fields: FieldSet, creating: bool
) -> Invalid | None:
    """The first problem with a create (``creating``) or update body, or ``None``."""
    checks = STANDARD[object_name]
    required = REQUIRED[object_name]
    if creating and not body.get(required):
        return Invalid(required, f"Parameter '{required}' is required", "required")
    for name, value in body.items():
        if name == "custom_fields":
            problem = _check_custom(value, fields)
            if problem is not None:
                return problem
            continue
        check = checks.get(name)
        if check is None:
            kind = "read_only" if name in fields.standard else "unknown_field"
            return Invalid(name, f"Parameter '{name}' is not allowed for this request", kind)
        if value is None:
            if name == required:
                return Invalid(name, f"Parameter '{name}' cannot be null", "required")
            continue
        found = check(value, fields, name)
        if found is None and name == required and not str(value).strip():
            found = "required", "must not be empty"
        if found is not None:
            kind, message = found
            if message.startswith("["):
                where, _, message = message.partition(" ")
                return Invalid(name + where, message, kind)
            return Invalid(name, message, kind)
    return None


def _check_custom(value: Any, fields: FieldSet) -> Invalid | None:
    if not isinstance(value, dict):
        return Invalid("custom_fields", "must be an object")
    for key, item in value.items():
        if key not in fields.custom:
            return Invalid("custom_fields", f"Custom field '{key}' does not exist", "unknown_field")
        if item is None:
            continue
        field_type = fields.type_of(key)
        found = _custom_problem(field_type, item, fields, key)
        if found is not None:
            kind, detail = found
            return Invalid("custom_fields", _custom_message(kind, detail, field_type, key), kind)
    return None
