"""Default field mappings for the demo tables and Pipedrive API v2's value conventions.

``shape`` keeps the payload flat (what the outbox stores and ``schemas/pipedrive/*.json``
check): ``emails``/``phones``/``address`` stay plain strings and custom fields stay under their
names. The client builds Pipedrive's structures from it when it sends (see ``fields.py``).
v2 is strict about types, so ``shape`` sends numbers as JSON numbers (never numeric strings),
dates as ``YYYY-MM-DD`` and timestamps as RFC 3339 in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from providers.base import Transformer
from providers.pipedrive.defaults import KEY_FIELD, NUMERIC_FIELDS
from providers.values import JsonValues, json_number
from syncsvc.errors import PermanentError


def _key() -> dict[str, Any]:
    """Our record id in the custom field ``syncsvc_id``: how a push finds the record again."""
    return {"source": "id", "target": KEY_FIELD, "transforms": ["to_string"], "required": True}


DEAL_STATUS = {
    "appointmentscheduled": "open",
    "qualifiedtobuy": "open",
    "presentationscheduled": "open",
    "decisionmakerboughtin": "open",
    "contractsent": "open",
    "closedwon": "won",
    "closedlost": "lost",
}

DEFAULT_MAPPINGS: dict[str, list[dict[str, Any]]] = {
    "persons": [
        {
            "template": "{first_name} {last_name}",
            "target": "name",
            "transforms": [{"default": "(no name)"}],
        },
        {"source": "email", "target": "emails", "transforms": ["strip", "lower"]},
        {"source": "phone", "target": "phones", "transforms": ["strip", "empty_to_null"]},
        {"source": "lifecycle_stage", "target": "lifecycle_stage", "custom": True},
        _key(),
    ],
    "organizations": [
        {"source": "name", "target": "name", "transforms": ["strip", {"default": "(no name)"}]},
        {"source": "domain", "target": "website", "transforms": ["strip", "lower"]},
        {"source": "city", "target": "address", "transforms": ["strip", "empty_to_null"]},
        _key(),
    ],
    "deals": [
        {"source": "name", "target": "title", "transforms": ["strip", {"default": "(no title)"}]},
        {"source": "amount", "target": "value", "transforms": ["to_number"]},
        {"target": "currency", "transforms": [{"constant": "USD"}]},
        {
            "source": "stage",
            "target": "status",
            "transforms": ["lower", {"map": DEAL_STATUS}, {"default": "open"}],
        },
        {
            "source": "close_date",
            "target": "expected_close_date",
            "transforms": [{"date": "%Y-%m-%d"}],
        },
        _key(),
    ],
}


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


class PipedriveTransformer(Transformer):
    default_mappings: Mapping[str, Sequence[Mapping[str, Any]]] = DEFAULT_MAPPINGS

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
