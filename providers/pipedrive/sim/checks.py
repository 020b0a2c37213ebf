"""Validation of API v2 request bodies, as strict as v2 is: no string-to-number coercion,
booleans only as true/false, dates as YYYY-MM-DD, custom fields only by their keys."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.pipedrive.sim.fields import FieldSet

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
REQUIRED = {"persons": "name", "organizations": "name", "deals": "title"}


@dataclass(frozen=True)
class Invalid:
    path: str
    message: str
    field_code: str | None = None


Check = Callable[[Any], str | None]


def _string(limit: int = 255) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        return f"must be at most {limit} characters" if len(value) > limit else None

    return check


def _integer(value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok else "must be an integer"


def _number(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return None if ok else "must be a number"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be a boolean"


def _pattern(regex: re.Pattern[str], what: str) -> Check:
    return lambda v: None if isinstance(v, str) and regex.match(v) else f"must be {what}"


def _one_of(*choices: Any) -> Check:
    return lambda v: None if v in choices else f"must be one of {', '.join(map(str, choices))}"


def _int_list(value: Any) -> str | None:
    ok = isinstance(value, list) and all(_integer(v) is None for v in value)
    return None if ok else "must be an array of integers"


def _contacts(email: bool) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return "must be an array"
        for index, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                return f"[{index}].value is required"
            if email and not EMAIL_RE.match(item["value"]):
                return f"[{index}].value is not a valid email address"
            if "primary" in item and not isinstance(item["primary"], bool):
                return f"[{index}].primary must be a boolean"
        return None

    return check


def _address(value: Any) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        return "must be an object with a string value"
    return None


_DATE = _pattern(DATE_RE, "a date (YYYY-MM-DD)")
_TIME = _pattern(DATETIME_RE, "an RFC 3339 date-time")
_VISIBLE = _one_of(1, 3, 5, 7)
_COMMON: dict[str, Check] = {
    "owner_id": _integer,
    "visible_to": _VISIBLE,
    "label_ids": _int_list,
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
        "marketing_status": _one_of("no_consent", "unsubscribed", "subscribed", "archived"),
    },
    "organizations": {
        **_COMMON,
        "name": _string(),
        "address": _address,
        "website": _string(),
        "linkedin": _string(),
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
        "currency": _pattern(CURRENCY_RE, "a 3-letter currency code"),
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
CUSTOM: dict[str, Check] = {
    "varchar": _string(),
    "varchar_auto": _string(),
    "phone": _string(),
    "text": _string(65536),
    "double": _number,
    "date": _DATE,
    "enum": _integer,
    "set": _int_list,
    "user": _integer,
    "org": _integer,
    "people": _integer,
    "address": _address,
    "monetary": lambda v: (
        None
        if isinstance(v, dict) and _number(v.get("value")) is None
        else "must be an object with a numeric value"
    ),
}


def check_body(
    object_name: str, body: Mapping[str, Any], fields: FieldSet, creating: bool
) -> Invalid | None:
    """The first problem with a create (``creating``) or update body, or ``None``."""
    checks = STANDARD[object_name]
    required = REQUIRED[object_name]
    if creating and not body.get(required):
        return Invalid(required, f"Parameter '{required}' is required")
    for name, value in body.items():
        if name == "custom_fields":
            problem = _check_custom(value, fields)
            if problem is not None:
                return problem
            continue
        check = checks.get(name)
        if check is None:
            return Invalid(name, f"unknown property '{name}'")
        if value is None:
            if name == required:
                return Invalid(name, f"Parameter '{name}' cannot be null")
            continue
        message = check(value)
        if message is None and name == required and not str(value).strip():
            message = "must not be empty"
        if message is not None and message.startswith("["):
            where, _, message = message.partition(" ")
            return Invalid(name + where, message)
        if message is not None:
            return Invalid(name, message)
    return None


def _check_custom(value: Any, fields: FieldSet) -> Invalid | None:
    if not isinstance(value, dict):
        return Invalid("custom_fields", "must be an object")
    for key, item in value.items():
        if key not in fields.custom:
            return Invalid(f"custom_fields.{key}", "custom field does not exist", key)
        if item is None:
            continue
        check = CUSTOM.get(fields.type_of(key))
        message = check(item) if check is not None else None
        if message is not None:
            return Invalid(f"custom_fields.{key}", message, key)
    return None
