"""Reading records back from Pipedrive (inbound): by id through ``GET /api/v2/{object}?ids=``
(up to 100 a call) and by modification time through the same list sorted by ``update_time``
from ``updated_since`` (cursor pages). Records come flattened the way the outbox payload holds
them (``reads.flatten``: emails/phones as their primary value, custom fields by name).

Pipedrive's list leaves deleted records out and has no deleted-since list: deletions arrive by
webhook (``providers.pipedrive.webhooks``), or from the deletes poll of ``/v1/recents``
(``providers.pipedrive.recents``), or a record read by id is found gone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from providers import answers
from providers.base import ChangedPage, CrmRecord
from providers.batching import chunks
from providers.pipedrive.fields import ObjectFields
from providers.pipedrive.reads import flatten

GetJson = Callable[[str, dict[str, Any]], dict[str, Any]]
PAGE = 100
IDS_PER_CALL = 100
"""v2 lists take up to 100 ids."""
MODIFIED = "update_time"


def parse_time(raw: Any) -> datetime | None:
    """v2's RFC 3339 times (``2025-02-17T21:26:58Z``); v1's ``2025-02-17 21:26:58`` is UTC."""
    return answers.parse_time(raw.replace(" ", "T") if isinstance(raw, str) else raw)


def rfc3339(stamp: datetime) -> str:
    return stamp.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _record(fields: ObjectFields, data: Any, names: Sequence[str]) -> CrmRecord | None:
    if not isinstance(data, dict) or data.get("id") is None or data.get("is_deleted"):
        return None
    return CrmRecord(str(data["id"]), flatten(fields, data, names), parse_time(data.get(MODIFIED)))


def _rows(answer: dict[str, Any]) -> list[Any]:
    data = answer.get("data")
    return data if isinstance(data, list) else []


def read_records(
    get_json: GetJson, path: str, fields: ObjectFields, ids: Sequence[str], names: Sequence[str]
) -> dict[str, CrmRecord]:
    wanted = [i for i in dict.fromkeys(ids) if i.isdigit()]
    found: dict[str, CrmRecord] = {}
    for chunk in chunks(wanted, IDS_PER_CALL):
        answer = get_json(path, {"ids": ",".join(chunk), "limit": IDS_PER_CALL})
        for data in _rows(answer):
            record = _record(fields, data, names)
            if record is not None:
                found[record.id] = record
    return found


def changed_since(
    get_json: GetJson,
    path: str,
    fields: ObjectFields,
    since: datetime,
    names: Sequence[str],
    after: str | None,
) -> ChangedPage:
    params: dict[str, Any] = {
        "updated_since": rfc3339(since),
        "sort_by": MODIFIED,
        "sort_direction": "asc",
        "limit": PAGE,
    }
    if after:
        params["cursor"] = after
    answer = get_json(path, params)
    records = [r for r in (_record(fields, d, names) for d in _rows(answer)) if r is not None]
    extra = answer.get("additional_data")
    cursor = extra.get("next_cursor") if isinstance(extra, dict) else None
    return ChangedPage(records, str(cursor) if cursor else None)
