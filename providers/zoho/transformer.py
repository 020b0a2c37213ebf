"""Zoho's value conventions (JSON types), per field type from the module's metadata.

Checked against Zoho's record API (https://www.zoho.com/crm/developer/docs/api/v8/insert-records.html
and the field types of https://www.zoho.com/crm/developer/docs/api/v8/field-meta.html):
text types and picklists as strings (a picklist by its display value), multi-select picklists
as a JSON array of display values, numbers and currency as JSON numbers, checkboxes as JSON
booleans, dates ``yyyy-MM-dd``, date-times ``yyyy-MM-ddTHH:mm:ss±HH:mm`` (no fractions), lookups
as ``{"id": "..."}``. A NULL clears with JSON ``null``; a checkbox cannot be empty, so it is
unticked (``false``). There are no default mappings: every connection states its own.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from providers.base import Transformer
from providers.values import JsonValues
from syncsvc.fields.encode import decimal_json
from syncsvc.fields.model import FieldDef, FieldType


def _datetime(value: dt.datetime) -> str:
    """Zoho date-times: ``yyyy-MM-ddTHH:mm:ss±HH:mm`` (no fractions)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.replace(microsecond=0).isoformat()


zoho_value = JsonValues("zoho", _datetime)
"""One field value as Zoho's JSON wants it: multi-select values as lists, lookups as
``{"id": ...}`` objects."""


class ZohoTransformer(Transformer):
    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """The flat record the client sends in ``data[]`` (field API names as keys)."""
        return {str(k): zoho_value(v, str(k)) for k, v in properties.items()}

    def encode(self, field: FieldDef, value: Any) -> Any:
        kind = field.type
        if kind is FieldType.REFERENCE:
            return {"id": str(value)}
        if kind is FieldType.MULTI_ENUMERATION:
            return [str(v) for v in value]
        if kind is FieldType.INTEGER:
            return int(value)
        if isinstance(value, Decimal):
            # Zoho takes JSON numbers only (it keeps at most 16 digits): text is never sent.
            number = decimal_json(value)
            return float(value) if isinstance(number, str) else number
        if isinstance(value, dt.datetime):
            return _datetime(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def clear_value(self, field: FieldDef) -> Any:
        return False if field.type is FieldType.BOOLEAN else None
