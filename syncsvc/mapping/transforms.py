"""Value transforms a field mapping may apply, by name (no eval).

A transform is written as a name (``lower``) or a one-key mapping (``{date: "%d/%m/%Y"}``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from syncsvc.errors import ConfigError

Transform = Callable[[Any], Any]


class TransformError(ValueError):
    """A value could not be transformed (the record goes to dead letters)."""


def _str_only(fn: Callable[[str], Any]) -> Transform:
    return lambda v: fn(v) if isinstance(v, str) else v


def _to_string(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _to_number(value: Any) -> Any:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise TransformError(f"not a number: {str(value)[:50]!r}") from None
    return int(number) if number == number.to_integral_value() else float(number)


def _parse_datetime(value: Any) -> dt.datetime | dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value
    text = str(value)
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise TransformError(f"not an ISO date or datetime: {text[:50]!r}") from None


def _date(fmt: Any) -> Transform:
    if not isinstance(fmt, str) or not fmt:
        raise ConfigError("'date' needs a strftime format such as '%Y-%m-%d'")

    def apply(value: Any) -> Any:
        parsed = _parse_datetime(value)
        return None if parsed is None else parsed.strftime(fmt)

    return apply


def _epoch_ms(value: Any) -> Any:
    parsed = _parse_datetime(value)
    if parsed is None:
        return None
    if not isinstance(parsed, dt.datetime):
        parsed = dt.datetime(parsed.year, parsed.month, parsed.day, tzinfo=dt.UTC)
    elif parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def _constant(value: Any) -> Transform:
    return lambda _: value


def _default(value: Any) -> Transform:
    return lambda v: value if v is None or v == "" else v


def _concat(separator: Any) -> Transform:
    if not isinstance(separator, str):
        raise ConfigError("'concat' needs a separator string")

    def apply(value: Any) -> Any:
        parts = value if isinstance(value, list) else [value]
        kept = [_to_string(p) for p in parts if p is not None and p != ""]
        return separator.join(kept) if kept else None

    return apply


def _truncate(length: Any) -> Transform:
    if not isinstance(length, int) or length < 1:
        raise ConfigError("'truncate' needs a positive length")
    return _str_only(lambda v: v[:length])


def _map(table: Any) -> Transform:
    if not isinstance(table, Mapping):
        raise ConfigError("'map' needs a mapping of source value to target value")
    lookup = {str(k): v for k, v in table.items()}
    return lambda v: lookup.get(_to_string(v), v) if v is not None else v


SIMPLE: dict[str, Transform] = {
    "lower": _str_only(str.lower),
    "upper": _str_only(str.upper),
    "strip": _str_only(str.strip),
    "title": _str_only(str.title),
    "to_string": _to_string,
    "to_number": _to_number,
    "epoch_ms": _epoch_ms,
    "empty_to_null": lambda v: None if v == "" else v,
}
PARAMETRIZED: dict[str, Callable[[Any], Transform]] = {
    "date": _date,
    "constant": _constant,
    "default": _default,
    "concat": _concat,
    "truncate": _truncate,
    "map": _map,
}


def compile_transform(spec: Any, path: str) -> Transform:
    if isinstance(spec, str):
        if spec in SIMPLE:
            return SIMPLE[spec]
        if spec in PARAMETRIZED:
            raise ConfigError(f"{path}: transform '{spec}' needs a parameter, e.g. {{{spec}: ...}}")
    elif isinstance(spec, Mapping) and len(spec) == 1:
        name, arg = next(iter(spec.items()))
        if name in PARAMETRIZED:
            try:
                return PARAMETRIZED[name](arg)
            except ConfigError as exc:
                raise ConfigError(f"{path}: {exc}") from None
        spec = name
    known = ", ".join(sorted([*SIMPLE, *PARAMETRIZED]))
    raise ConfigError(f"{path}: unknown transform {spec!r} (known: {known})")
