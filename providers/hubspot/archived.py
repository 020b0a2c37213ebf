"""Records archived (deleted) in HubSpot, for the inbound deletes poll.

HubSpot's search leaves archived records out, so the change poll never sees a deletion. The
list endpoint shows them: ``GET /crm/v3/objects/{type}?archived=true`` answers only archived
records, each with ``archived: true`` and ``archivedAt`` (ISO 8601), at most 100 a page
(``limit``), the next page from ``paging.next.after``. The list has no filter and no order by
``archivedAt`` (it runs by id), so a poll reads all of it: the recycle bin, where HubSpot keeps
a record for 90 days. We ask for ``hs_object_id`` only, to keep the pages small.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests

from providers.answers import body_of
from providers.base import DeletedPage, DeletedRecord
from providers.hubspot.responses import raise_for_call

Call = Callable[[str, str, Any], requests.Response]
PAGE = 100
"""The list's largest page (HubSpot's documented maximum ``limit``)."""


def archived_at(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def archived_page(call: Call, path: str, after: str | None) -> DeletedPage:
    """One page of the archived records listed at ``path`` (``/crm/v3/objects/{type}``)."""
    params = {"archived": "true", "limit": str(PAGE), "properties": "hs_object_id"}
    if after:
        params["after"] = after
    response = call("GET", f"{path}?{urlencode(params)}", None)
    raise_for_call(response)
    answer = body_of(response)
    records = [
        DeletedRecord(str(r["id"]), archived_at(r.get("archivedAt")))
        for r in answer.get("results") or []
        if isinstance(r, dict) and r.get("id") is not None and r.get("archived") is not False
    ]
    following = ((answer.get("paging") or {}).get("next") or {}).get("after")
    return DeletedPage(records, str(following) if following else None)
