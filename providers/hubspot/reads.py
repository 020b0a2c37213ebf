"""Reading records back from HubSpot (inbound): by id through ``batch/read``, and by
modification date through the search API (``hs_lastmodifieddate``, oldest first)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import requests

from providers.answers import body_of
from providers.base import ChangedPage, CrmRecord
from providers.batching import chunks
from providers.hubspot.responses import raise_for_call

Call = Callable[[str, str, Any], requests.Response]
MODIFIED = "hs_lastmodifieddate"
"""Search filters and sorts by it on every object (contacts also call it ``lastmodifieddate``)."""
SEARCH_LIMIT = 100
READ_BATCH = 100


def _modified(properties: dict[str, Any], fallback: Any) -> datetime | None:
    raw = properties.get(MODIFIED) or properties.get("lastmodifieddate") or fallback
    if not isinstance(raw, str) or not raw:
        return None
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw) / 1000, UTC)
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def _record(result: Any) -> CrmRecord | None:
    if not isinstance(result, dict) or result.get("id") is None:
        return None
    properties = result.get("properties") or {}
    if not isinstance(properties, dict):
        return None
    return CrmRecord(str(result["id"]), properties, _modified(properties, result.get("updatedAt")))


def _wanted(fields: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*fields, MODIFIED, "lastmodifieddate"]))


def read_records(
    call: Call, path: str, ids: Sequence[str], fields: Sequence[str]
) -> dict[str, CrmRecord]:
    found: dict[str, CrmRecord] = {}
    for chunk in chunks(list(dict.fromkeys(ids)), READ_BATCH):
        body = {"inputs": [{"id": i} for i in chunk], "properties": _wanted(fields)}
        response = call("POST", path, body)
        if response.status_code == 404:
            continue
        raise_for_call(response)
        for result in body_of(response).get("results") or []:
            record = _record(result)
            if record is not None:
                found[record.id] = record
    return found


def changed_since(
    call: Call, path: str, since: datetime, fields: Sequence[str], after: str | None
) -> ChangedPage:
    body: dict[str, Any] = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": MODIFIED,
                        "operator": "GTE",
                        "value": str(int(since.timestamp() * 1000)),
                    }
                ]
            }
        ],
        "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
        "properties": _wanted(fields),
        "limit": SEARCH_LIMIT,
    }
    if after:
        body["after"] = after
    response = call("POST", path, body)
    raise_for_call(response)
    answer = body_of(response)
    records = [r for r in map(_record, answer.get("results") or []) if r is not None]
    next_page = ((answer.get("paging") or {}).get("next") or {}).get("after")
    return ChangedPage(records, str(next_page) if next_page else None)
