"""Value conversions the transformers share: JSON numbers, UTC timestamps, multi-values."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from syncsvc.errors import PermanentError


def json_number(value: float | Decimal, name: str, provider: str) -> int | float:
    """A float as it is, a Decimal as an int when whole, else a float; NaN and infinity are
    refused (JSON cannot carry them)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise PermanentError(f"{provider}: {name} is {value}, not a number", name, "NAN")
        return int(value) if value == value.to_integral_value() else float(value)
    if not math.isfinite(value):
        raise PermanentError(f"{provider}: {name} is {value}, not a number", name, "NAN")
    return value


def utc_timestamp(value: dt.datetime, timespec: str) -> str:
    """ISO 8601 in UTC ending in ``Z``; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def is_multi(value: Any) -> bool:
    """A list, tuple or set of values (a multi-select); strings and bytes are single values."""
    return isinstance(value, Sequence | set | frozenset) and not isinstance(
        value, str | bytes | bytearray
    )
