"""Pipedrive API v2's value conventions: canonical field values in the wire format.

``encode`` writes a value that ``syncsvc.fields.convert`` checked against the field's definition
(``metadata.py``): numbers as JSON numbers (v2 does not coerce numeric strings), option fields
(``enum``, ``status``, ``visible_to``) by option id, ``set`` fields as a list of option ids,
dates as ``YYYY-MM-DD``, timestamps as RFC 3339 in UTC. ``clear_value`` is ``null``.

``shape`` keeps the payload flat (what the outbox stores and ``schemas/pipedrive/*.json`` may
check): ``emails``/``phones``/``address`` stay plain strings and custom fields stay under their
names. The client builds Pipedrive's structures from it when it sends (see ``fields.py``).
There are no default mappings: a connection's config names its fields.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from providers.base import Transformer
from providers.pipedrive.defaults import NUMERIC_FIELDS
from providers.values import JsonValues, json_number
from syncsvc.errors import PermanentError
from syncsvc.fields.convert import FieldValueError
from syncsvc.fields.encode import iso_datetime
from syncsvc.fields.model import FieldDef, FieldType


def _number(value: Any, name: str) -> int | float:
    """A JSON number for ``value`` (v2 refuses numeric strings)."""
    if isinstance(value, bool):
        raise PermanentError(f"pipedrive: {name} must be a number", field=name, code="NOT_NUMBER")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return json_number(value, name, "pipedrive")
    try:
        decimal = Decimal(str(value).strip())
    except InvalidOperation:
        raise PermanentError(
            f"pipedrive: {name} is {str(value)[:50]!r}, not a number", field=name, code="NOT_NUMBER"
        ) from None
    if not decimal.is_finite():
        raise PermanentError(f"pipedrive: {name} is {value}, not a number", field=name, code="NAN")
    return int(decimal) if decimal == decimal.to_integral_value() else float(decimal)


pipedrive_value = JsonValues("pipedrive")
"""One value as JSON Pipedrive v2 accepts (multi-values as lists, maps as objects)."""


def _option_id(value: str) -> int | str:
    """Pipedrive's option ids are integers; a few standard fields use words (``status``)."""
    return int(value) if value.isdecimal() else value


def _json_number(number: Decimal) -> int | float:
    """A JSON number holding ``number`` exactly (Pipedrive stores doubles)."""
    if number == number.to_integral_value() and abs(number) < 2**53:
        return int(number)
    as_float = float(number)
    if Decimal(repr(as_float)) != number:
        raise FieldValueError(f"{number} has more digits than the field's double holds")
    return as_float


class PipedriveTransformer(Transformer):
    def encode(self, field: FieldDef, value: Any) -> Any:
        kind = field.type
        if kind in (FieldType.ENUMERATION, FieldType.REFERENCE) and isinstance(value, str):
            return _option_id(value)
        if kind is FieldType.MULTI_ENUMERATION:
            return [_option_id(str(v)) for v in value]
        if kind in (FieldType.NUMBER, FieldType.INTEGER) and isinstance(value, Decimal | int):
            return _json_number(Decimal(value))
        if kind is FieldType.DATETIME:
            return iso_datetime(value)
        return super().encode(field, value)

    def clear_value(self, field: FieldDef) -> Any:
        return None

    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Flat fields with JSON values; numeric standard fields as numbers."""
        out: dict[str, Any] = {}
        for key, value in properties.items():
            name = str(key)
            if name in NUMERIC_FIELDS and value is not None and value != "":
                out[name] = _number(value, name)
            elif name in NUMERIC_FIELDS and value == "":
                out[name] = None
            else:
                out[name] = pipedrive_value(value, name)
        return out
