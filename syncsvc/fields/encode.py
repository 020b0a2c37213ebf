"""Canonical field values (``syncsvc.fields.convert``) in the JSON most CRMs take."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def decimal_json(number: Decimal) -> int | float | str:
    """An ``int`` when whole, a ``float`` when that holds it exactly, else its text."""
    if number == number.to_integral_value():
        return int(number)
    as_float = float(number)
    return as_float if Decimal(repr(as_float)) == number else str(number)


def iso_datetime(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``: ``2026-12-03T10:15:00.000Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def encode_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_json(value)
    if isinstance(value, datetime):
        return iso_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [encode_json(v) for v in value]
    return value
