"""Salesforce's value conventions: JSON types, the REST API's date and picklist formats.

There are no default mappings: a connection's config names its mappings and the External ID
field each upsert rule uses (``id_property``), since Salesforce has none until an admin adds one.

Wire format per field type (``encode``): text as JSON strings; double/currency/percent as JSON
numbers (a decimal a float cannot hold exactly goes as its text, which the API also parses);
int as a JSON integer; boolean as ``true``/``false``; date ``YYYY-MM-DD``; datetime ISO 8601 in
UTC with milliseconds (``2026-12-03T10:15:00.000Z``); picklist by its API value (not its label);
multi-select picklist values ``;``-joined. A NULL clears a field with JSON ``null``, except a
checkbox, which Salesforce never holds empty (not nillable): it is cleared to ``false``.
"""

from __future__ import annotations

from typing import Any

from providers.base import Transformer
from providers.values import JsonValues, utc_milliseconds
from syncsvc.fields.encode import encode_json
from syncsvc.fields.model import FieldDef, FieldType

salesforce_value = JsonValues(
    "salesforce", utc_milliseconds, multi_separator=";", mapping_as_text=True
)
"""One field value as the REST API takes it, for properties without a cached definition:
date-times ISO 8601 in UTC with milliseconds, multi-select picklists ``;``-joined."""


class SalesforceTransformer(Transformer):
    def encode(self, field: FieldDef, value: Any) -> Any:
        if field.type is FieldType.MULTI_ENUMERATION and isinstance(value, tuple):
            return ";".join(str(v) for v in value)
        return encode_json(value)

    def clear_value(self, field: FieldDef) -> Any:
        return False if field.type is FieldType.BOOLEAN else None

    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Flat fields keyed by API name; the client wraps them into collection records."""
        return {str(k): salesforce_value(v, str(k)) for k, v in properties.items()}
