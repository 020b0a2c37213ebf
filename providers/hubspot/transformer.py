"""Default field mappings for the demo tables and HubSpot's value conventions (all strings)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from providers.base import Transformer
from providers.values import is_multi, utc_timestamp
from syncsvc.errors import PermanentError


def _syncsvc_id() -> dict[str, Any]:
    """Our record id in a unique custom property: the upsert key that makes retries harmless."""
    return {"source": "id", "target": "syncsvc_id", "transforms": ["to_string"], "required": True}


DEFAULT_MAPPINGS: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        {"source": "email", "target": "email", "transforms": ["strip", "lower"], "required": True},
        {"source": "first_name", "target": "firstname", "transforms": ["strip"]},
        {"source": "last_name", "target": "lastname", "transforms": ["strip"]},
        {"source": "phone", "target": "phone", "transforms": ["strip"]},
        {"source": "lifecycle_stage", "target": "lifecyclestage", "transforms": ["lower"]},
        _syncsvc_id(),
    ],
    "companies": [
        {"source": "name", "target": "name", "transforms": ["strip"]},
        {"source": "domain", "target": "domain", "transforms": ["strip", "lower"]},
        {"source": "industry", "target": "industry"},
        {"source": "city", "target": "city", "transforms": ["strip"]},
        _syncsvc_id(),
    ],
    "deals": [
        {"source": "name", "target": "dealname", "transforms": ["strip"]},
        {"source": "amount", "target": "amount"},
        {"source": "stage", "target": "dealstage", "transforms": ["lower"]},
        {"source": "close_date", "target": "closedate", "transforms": [{"date": "%Y-%m-%d"}]},
        {"target": "pipeline", "transforms": [{"constant": "default"}]},
        _syncsvc_id(),
    ],
}


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
        return ""
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
    default_mappings: Mapping[str, Sequence[Mapping[str, Any]]] = DEFAULT_MAPPINGS

    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Flat properties with string values; the client puts them in the ``properties`` map."""
        return {str(k): hubspot_value(v, str(k)) for k, v in properties.items()}
