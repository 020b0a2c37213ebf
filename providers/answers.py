"""Reading the parts of a CRM's answer that every CRM shapes alike: a JSON object body, a
number of seconds in a header, an ISO 8601 time."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import requests


def body_of(response: requests.Response) -> dict[str, Any]:
    """The JSON object in ``response``, or ``{}`` when there is none (204s, non-JSON, arrays)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def seconds(value: str | None) -> float | None:
    """A finite, non-negative number of seconds (``Retry-After`` and the like), else None."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number >= 0 else None


def parse_time(raw: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` for UTC; one without a zone is UTC), else None."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
