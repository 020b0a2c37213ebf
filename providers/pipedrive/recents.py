"""Records deleted in Pipedrive, for the inbound deletes poll: ``GET /v1/recents``.

API v2's lists leave deleted records out, and Pipedrive has no deleted-since list. ``recents``
(v1) reports every change of the given item type after ``since_timestamp`` (UTC, ``YYYY-MM-DD
HH:MM:SS``), each as ``{"item": "person", "id", "data": <the v1 record>}``, oldest first, with
v1 offset paging (``start``/``limit``; ``additional_data.pagination.more_items_in_collection``
and ``next_start``) and ``additional_data.last_timestamp_on_page``. A deleted record is still
there for the 30 days Pipedrive keeps it, marked deleted: ``active_flag: false`` (persons,
organizations), ``deleted: true`` / ``active: false`` (deals). Its ``update_time`` is the time
of the deletion, the last change it had. Recents reaches back 30 days at most.

A page costs what a v1 list costs (20 tokens of the daily budget) and holds every change, not
only deletions: a poll reads the object's changes since its mark once more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from providers.base import DeletedPage, DeletedRecord
from providers.pipedrive.changes import parse_time

GetJson = Callable[[str, dict[str, Any]], dict[str, Any]]
PATH = "/v1/recents"
PAGE = 500
"""v1's largest page."""
ITEMS = {"persons": "person", "organizations": "organization", "deals": "deal"}
"""Our object names → the ``items`` recents takes."""


def v1_time(stamp: datetime) -> str:
    return stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def is_deleted(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    return data.get("active_flag") is False or data.get("deleted") is True


def deleted_page(get_json: GetJson, obj: str, since: datetime, after: str | None) -> DeletedPage:
    """One page of ``obj``'s changes since ``since``: the deleted records among them."""
    item = ITEMS[obj]
    start = after if after and after.isdigit() else "0"
    params = {"since_timestamp": v1_time(since), "items": item, "start": start, "limit": PAGE}
    answer = get_json(PATH, params)
    rows = answer.get("data")
    deleted = [
        DeletedRecord(str(row["id"]), parse_time(row["data"].get("update_time")))
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict)
        and row.get("item") == item
        and row.get("id") is not None
        and is_deleted(row.get("data"))
    ]
    extra = answer.get("additional_data")
    extra = extra if isinstance(extra, dict) else {}
    paging = extra.get("pagination")
    paging = paging if isinstance(paging, dict) else {}
    following = paging.get("next_start") if paging.get("more_items_in_collection") else None
    return DeletedPage(
        deleted,
        str(following) if following is not None else None,
        parse_time(extra.get("last_timestamp_on_page")),
    )
