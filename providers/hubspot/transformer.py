"""HubSpot's value conventions: every property value is a string, ``""`` clears it.

Typed values (``encode``, after ``syncsvc.fields.convert`` checked them against the property's
definition) follow https://developers.hubspot.com/docs/api/crm/properties: numbers as plain
decimals, ``bool`` as ``true``/``false``, ``date`` as ``YYYY-MM-DD`` (HubSpot keeps dates at
midnight UTC), ``datetime`` as ISO 8601 in UTC with milliseconds, multi-checkbox enumerations as
option values joined by ``;``. Untyped values (no cached definition) go through ``shape``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from providers.base import Transformer
from providers.values import is_multi, utc_timestamp
from syncsvc.errors import PermanentError
from syncsvc.fields.model import FieldDef

CLEAR = ""
"""What HubSpot takes to empty a property (batch update/upsert)."""


def _number(value: int | float | Decimal, name: str) -> str:
    if isinstance(value, int):
        return str(value)
    decimal = Decimal(repr(value)) if isinstance(value, float) else value
    if not decimal.is_finite():
        raise PermanentError(f"hubspot: {name} is {value}, not a number", field=name, code="NAN")
    return format(decimal, "f")


def hubspot_value(value: Any, name: str = "value") -> str:
    """One property value as HubSpot wants it: a string ("" clears the property)."""
    if value is None:
        return CLEAR
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return _number(value, name)
    if isinstance(value, dt.datetime):
        return utc_timestamp(value, "milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if is_multi(value):
        return ";".join(hubspot_value(v, name) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
    return str(value)


class HubSpotTransformer(Transformer):
    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Flat properties with string values; the client puts them in the ``properties`` map."""
        return {str(k): hubspot_value(v, str(k)) for k, v in properties.items()}

    def encode(self, field: FieldDef, value: Any) -> Any:
        """A canonical value of ``field`` as HubSpot's string (see the module docstring)."""
        return hubspot_value(value, field.name)

    def clear_value(self, field: FieldDef) -> Any:
        return CLEAR
