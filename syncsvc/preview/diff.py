"""Field-by-field difference between a mapped payload and the record the CRM holds now.

CRMs answer in their own formats (HubSpot: every value a string; Salesforce: ``+0000`` offsets;
numbers as ``1.5`` or ``"1.50"``), so values are compared by meaning: empty and missing are
the same, numbers by value, date-times by instant, everything else as text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class FieldChange:
    field: str
    crm: Any
    """What the CRM holds now."""
    ours: Any
    """What the sync would write."""


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 19 or value[10:11] not in ("T", " "):
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 → +00:00
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(sorted(_text(v) for v in value))
    return str(value).strip()


def same(ours: Any, crm: Any) -> bool:
    """Whether writing ``ours`` would leave the CRM's ``crm`` value as it means."""
    if ours in (None, "", []) or crm in (None, "", []):
        return ours in (None, "", []) and crm in (None, "", [])
    a, b = _number(ours), _number(crm)
    if a is not None and b is not None:
        return a == b
    x, y = _instant(ours), _instant(crm)
    if x is not None and y is not None:
        return x == y
    return _text(ours) == _text(crm)


def changes(payload: Mapping[str, Any], held: Mapping[str, Any]) -> list[FieldChange]:
    """The payload's fields whose CRM value differs (fields the read did not return are left
    out: they cannot be compared)."""
    return [
        FieldChange(name, held.get(name), value)
        for name, value in payload.items()
        if name in held and not same(value, held.get(name))
    ]
