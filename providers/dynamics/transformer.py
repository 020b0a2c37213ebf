"""Column values as the Dataverse Web API takes them.

With the table's column definitions (``encode``): text as JSON strings; Integer/BigInt columns
JSON integers and Money/Decimal/Double JSON numbers, each within its type's range; Boolean
columns ``true``/``false``; date-only columns ``YYYY-MM-DD`` (Edm.Date) and date-time columns ISO
8601 in UTC (``2026-03-01T09:30:00Z``, Edm.DateTimeOffset); a choice column its option's integer
value (``industrycode: 6``, never the label); a multi-select choice column the integer values
joined by commas (``"1,3"``). ``null`` clears a column (``clear_value``).
(https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-entity-web-api,
https://learn.microsoft.com/power-apps/developer/data-platform/multi-select-picklist)

Without definitions (``shape``), values keep their JSON types and a list is comma-joined.
There are no default mappings: every table and column is the environment's own, so a
connection's config names its mappings and the alternate-key column of its upsert rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from providers.base import Transformer
from providers.values import JsonValues
from syncsvc.fields.convert import FieldValueError
from syncsvc.fields.model import FieldDef, FieldType

INT_RANGES = {"Integer": (-2_147_483_648, 2_147_483_647),
              "BigInt": (-9_223_372_036_854_775_808, 9_223_372_036_854_775_807)}  # fmt: skip
MONEY_RANGE = (Decimal(-922_337_203_685_477), Decimal(922_337_203_685_477))
"""What Edm.Int32/Int64 and a Money column can hold at most."""

dataverse_value = JsonValues("dynamics", multi_separator=",", mapping_as_text=True)
"""One column value as the Web API takes it when no definition is known."""


def _number(field: FieldDef, value: Decimal) -> int | float:
    if field.crm_type == "Money" and not MONEY_RANGE[0] <= value <= MONEY_RANGE[1]:
        raise FieldValueError(f"{value} is outside the range of a Money column")
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _integer(field: FieldDef, value: int) -> int:
    low, high = INT_RANGES.get(field.crm_type, INT_RANGES["Integer"])
    if not low <= value <= high:
        raise FieldValueError(f"{value} is outside the range of {field.crm_type} ({low}..{high})")
    return value


def _choice(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FieldValueError(f"{value!r} is not a choice value (an integer)") from None


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class DynamicsTransformer(Transformer):
    def shape(self, object_name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Flat column values; the client sends them as the body of one request each."""
        return {str(k): dataverse_value(v, str(k)) for k, v in properties.items()}

    def encode(self, field: FieldDef, value: Any) -> Any:
        kind = field.type
        if kind is FieldType.ENUMERATION and field.options:
            return _choice(str(value))
        if kind is FieldType.MULTI_ENUMERATION:
            return ",".join(str(_choice(str(v))) for v in value)
        if kind is FieldType.INTEGER and isinstance(value, int):
            return _integer(field, value)
        if kind is FieldType.NUMBER and isinstance(value, Decimal):
            return _number(field, value)
        if isinstance(value, datetime):
            return _utc(value)
        if isinstance(value, date):
            return value.isoformat()
        return dataverse_value(value, field.name)

    def clear_value(self, field: FieldDef) -> Any:
        """``null`` empties any column (a multi-select choice column too)."""
        return None
