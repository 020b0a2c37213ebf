"""Check one mapped value against its CRM field's definition and convert it, losslessly or not
at all.

Values reach the transform stage as JSON (PostgreSQL's ``to_jsonb``): numbers, text, booleans,
ISO dates and timestamps as text. ``convert`` returns a canonical Python value (``str``,
``Decimal``, ``int``, ``bool``, ``date``, aware ``datetime``, a tuple of option values); each
provider's transformer turns that into its CRM's wire format. What does not convert without loss
raises ``FieldValueError`` naming the problem, so the record is dead-lettered before any CRM call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from syncsvc.fields.model import FieldDef, FieldType

MAX_LISTED_OPTIONS = 20


class FieldValueError(ValueError):
    """A value the CRM field cannot take; the message says why (and what it can take)."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _text(fd: FieldDef, value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int | Decimal):
        text = str(value)
    elif isinstance(value, float) and math.isfinite(value):
        text = repr(value)
    else:
        raise FieldValueError(f"{_show(value)} is not text")
    if fd.type is FieldType.STRING and ("\n" in text or "\r" in text):
        raise FieldValueError("contains a line break; the field holds one line")
    if fd.max_length is not None and len(text) > fd.max_length:
        raise FieldValueError(f"is {len(text)} characters long; at most {fd.max_length} fit")
    return text


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise FieldValueError(f"{_show(value)} is a boolean, not a number")
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise FieldValueError(f"{_show(value)} is not a finite number")
            return Decimal(repr(value))
        if isinstance(value, int | Decimal):
            number = Decimal(value)
        elif isinstance(value, str):
            number = Decimal(value.strip())
        else:
            raise FieldValueError(f"{_show(value)} is not a number")
    except InvalidOperation:
        raise FieldValueError(f"{_show(value)} is not a number") from None
    if not number.is_finite():
        raise FieldValueError(f"{_show(value)} is not a finite number")
    return number


def _number(fd: FieldDef, value: Any) -> Decimal:
    return _decimal(value)


def _integer(fd: FieldDef, value: Any) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise FieldValueError(f"{_show(value)} is not a whole number")
    return int(number)


_TRUE = {"true": True, "false": False}


def _boolean(fd: FieldDef, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return _TRUE[value.strip().lower()]
    raise FieldValueError(f"{_show(value)} is not a boolean (true or false)")


def _parse_datetime(value: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _date(fd: FieldDef, value: Any) -> date:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                return date.fromisoformat(value.strip())
            moment = _parse_datetime(value)
        except ValueError:
            raise FieldValueError(f"{_show(value)} is not a date (YYYY-MM-DD)") from None
    else:
        raise FieldValueError(f"{_show(value)} is not a date (YYYY-MM-DD)")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    if moment.time() != time(0, 0):
        raise FieldValueError(
            f"{_show(value)} has a time of day; the field holds a date (midnight UTC)"
        )
    return moment.date()


def _datetime(fd: FieldDef, value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime.combine(value, time(0, 0), UTC)
    elif isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                return datetime.combine(date.fromisoformat(value.strip()), time(0, 0), UTC)
            moment = _parse_datetime(value)
        except ValueError:
            raise FieldValueError(f"{_show(value)} is not an ISO 8601 date-time") from None
    else:
        raise FieldValueError(f"{_show(value)} is not an ISO 8601 date-time")
    if moment.tzinfo is None:
        raise FieldValueError(
            f"{_show(value)} has no time zone (a timestamp without time zone); "
            "use timestamptz or add the offset"
        )
    return moment.astimezone(UTC)


def _allowed(fd: FieldDef) -> str:
    shown = [o.value if o.value == o.label else f"{o.value} ({o.label})" for o in fd.options]
    more = len(shown) - MAX_LISTED_OPTIONS
    listed = ", ".join(shown[:MAX_LISTED_OPTIONS])
    return listed + (f" and {more} more" if more > 0 else "")


def _option(fd: FieldDef, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldValueError(f"{_show(value)} is not one of the field's options: {_allowed(fd)}")
    found = fd.option_for(str(value))
    if found is None:
        raise FieldValueError(f"{_show(value)} is not one of the field's options: {_allowed(fd)}")
    return found.value


def _enumeration(fd: FieldDef, value: Any) -> str:
    if not fd.options:
        return _text(fd, value)
    return _option(fd, value)


def _multi_enumeration(fd: FieldDef, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        parts: list[Any] = [p for p in (s.strip() for s in value.split(";")) if p]
    elif isinstance(value, list):
        parts = value
    else:
        raise FieldValueError(f"{_show(value)} is not a list of options")
    if not fd.options:
        return tuple(_text(fd, p) for p in parts)
    return tuple(dict.fromkeys(_option(fd, p) for p in parts))


def _reference(fd: FieldDef, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldValueError(f"{_show(value)} is not a record id")
    return str(value)


def _other(fd: FieldDef, value: Any) -> Any:
    return value


_CONVERTERS: dict[FieldType, Callable[[FieldDef, Any], Any]] = {
    FieldType.STRING: _text,
    FieldType.TEXT: _text,
    FieldType.NUMBER: _number,
    FieldType.INTEGER: _integer,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.ENUMERATION: _enumeration,
    FieldType.MULTI_ENUMERATION: _multi_enumeration,
    FieldType.REFERENCE: _reference,
    FieldType.OTHER: _other,
}


def convert(fd: FieldDef, value: Any) -> Any:
    """``value`` as the canonical value of ``fd``'s type; ``None`` stays ``None`` (a clear)."""
    if value is None:
        return None
    return _CONVERTERS[fd.type](fd, value)
