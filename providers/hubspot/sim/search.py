"""``POST /crm/v3/objects/{type}/search`` of the simulated account: filters, sorts and paging
the way HubSpot's search does them, enough for polling by modification date.

Dates (``hs_lastmodifieddate``, contacts' ``lastmodifieddate``, ``createdate``) compare as
milliseconds since the epoch, whichever of the two a filter names; other properties compare as
text. At most 200 results a page; ``after`` is the offset of the next page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from providers.hubspot.sim.batch import BadBatch
from providers.hubspot.sim.store import ObjectStore, Record

MAX_LIMIT = 200
MAX_FILTER_GROUPS = 5
MAX_FILTERS = 6
DATE_PROPERTIES = frozenset({"hs_lastmodifieddate", "lastmodifieddate", "createdate"})
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
}


def _millis(text: str) -> int:
    if text.lstrip("-").isdigit():
        return int(text)
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _value(store: ObjectStore, record: Record, name: str) -> Any:
    if name in ("hs_lastmodifieddate", "lastmodifieddate"):
        return store.modified_ms(record)
    if name == "createdate":
        return _millis(record.created_at)
    if name == "hs_object_id":
        return int(record.id)
    return record.properties.get(name)


def _matches(store: ObjectStore, record: Record, flt: dict[str, Any]) -> bool:
    name, operator = flt.get("propertyName"), flt.get("operator")
    if not isinstance(name, str):
        raise BadBatch("filter needs a propertyName")
    actual = _value(store, record, name)
    if operator == "HAS_PROPERTY":
        return actual not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return actual in (None, "")
    compare = _OPERATORS.get(str(operator))
    if compare is None:
        raise BadBatch(f"Unsupported filter operator {operator!r}")
    raw = flt.get("value")
    if actual is None or raw is None:
        return False
    if name in DATE_PROPERTIES or name == "hs_object_id":
        try:
            return compare(actual, _millis(str(raw)))
        except ValueError:
            raise BadBatch(f"{raw!r} is not a valid date for {name}") from None
    return compare(str(actual), str(raw))


def _sort_key(store: ObjectStore, name: str) -> Callable[[Record], Any]:
    def key(record: Record) -> Any:
        value = _value(store, record, name)
        return (value is None, value if value is not None else 0, int(record.id))

    return key


def search(store: ObjectStore, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadBatch("Invalid search request")
    groups = body.get("filterGroups") or []
    if not isinstance(groups, list) or len(groups) > MAX_FILTER_GROUPS:
        raise BadBatch(f"At most {MAX_FILTER_GROUPS} filterGroups")
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
            raise BadBatch(f"A filterGroup needs a list of at most {MAX_FILTERS} filters")
    limit = body.get("limit", 10)
    if not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
        raise BadBatch(f"limit must be from 1 to {MAX_LIMIT}")
    after = str(body.get("after") or "0")
    offset = int(after) if after.isdigit() else 0
    records = [
        r
        for r in store.records.values()
        if not groups or any(all(_matches(store, r, f) for f in g["filters"]) for g in groups)
    ]
    records.sort(key=lambda r: int(r.id))
    for sort in reversed(body.get("sorts") or []):
        if isinstance(sort, str):
            name, descending = sort.lstrip("-"), sort.startswith("-")
        elif isinstance(sort, dict):
            name = str(sort.get("propertyName"))
            descending = sort.get("direction") == "DESCENDING"
        else:
            raise BadBatch("Invalid sort")
        records.sort(key=_sort_key(store, name), reverse=descending)
    page = records[offset : offset + limit]
    wanted = body.get("properties")
    only = [str(p) for p in wanted] if isinstance(wanted, list) and wanted else None
    out: dict[str, Any] = {"total": len(records), "results": [r.view(only=only) for r in page]}
    if offset + limit < len(records):
        out["paging"] = {"next": {"after": str(offset + limit)}}
    return out
