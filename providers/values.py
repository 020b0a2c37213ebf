"""Value conversions the transformers share: JSON numbers, UTC timestamps, multi-values."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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


def utc_seconds(value: dt.datetime) -> str:
    return utc_timestamp(value, "seconds")


def utc_milliseconds(value: dt.datetime) -> str:
    return utc_timestamp(value, "milliseconds")


@dataclass(frozen=True)
class JsonValues:
    """How one CRM takes a plain value in JSON: ``None`` clears, numbers stay numbers (NaN
    refused), dates are ``YYYY-MM-DD``, UUIDs strings; the CRM decides how date-times, maps and
    multi-select values are written."""

    provider: str
    datetime_text: Callable[[dt.datetime], str] = utc_seconds
    multi_separator: str | None = None
    """Multi-select values joined by this (``None`` dropped), or a JSON list when ``None``."""
    mapping_as_text: bool = False
    """A map as compact JSON text (for a text field), or a JSON object."""

    def __call__(self, value: Any, name: str = "value") -> Any:
        if value is None or isinstance(value, str | bool | int):
            return value
        if isinstance(value, float | Decimal):
            return json_number(value, name, self.provider)
        if isinstance(value, dt.datetime):
            return self.datetime_text(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, Mapping):
            if self.mapping_as_text:
                return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
            return {str(k): self(v, f"{name}.{k}") for k, v in value.items()}
        if is_multi(value):
            values = [self(v, name) for v in value]
            if self.multi_separator is None:
                return values
            return self.multi_separator.join(str(v) for v in values if v is not None)
        return str(value)
