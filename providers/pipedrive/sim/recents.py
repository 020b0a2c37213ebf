"""``GET /v1/recents`` of the simulated company: every change of the given item types after
``since_timestamp``, oldest first, in API v1's shapes (https://developers.pipedrive.com/docs/api/
v1/Recents#getRecents; the answer's shape from Pipedrive's OpenAPI, ``GetRecentsResponse``).

``since_timestamp`` (required, UTC ``YYYY-MM-DD HH:MM:SS``): changes after it. ``items``
(comma-separated) from the documented list; the simulator holds persons, organizations and
deals (the other documented types answer no rows). Each row is ``{"item", "id", "data"}`` with
the record as v1 shows it: ``active_flag`` (persons, organizations) or ``active``/``deleted``
and ``status: "deleted"`` (deals) tell a deleted record, kept as Pipedrive keeps it for 30 days;
its ``update_time`` is the deletion's. v1 offset paging: ``start`` (0), ``limit`` (up to 500),
``additional_data.pagination`` and ``last_timestamp_on_page``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from providers.pipedrive.sim.http import error, limit_of, ok
from providers.pipedrive.sim.store import ObjectStore, Record, scalar
from providers.simulation import SimRequest, SimResponse

ITEMS = {"person": "persons", "organization": "organizations", "deal": "deals"}
DOCUMENTED = frozenset(
    {"activity", "activityType", "deal", "file", "filter", "note", "person"}
    | {"organization", "pipeline", "product", "stage", "user"}
)
V1_TIME = "%Y-%m-%d %H:%M:%S"


def _v1_time(rfc3339: str) -> str:
    stamp = dt.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return stamp.astimezone(dt.UTC).strftime(V1_TIME)


def _contacts(value: Any) -> list[dict[str, Any]]:
    """v2 ``emails``/``phones`` as v1's ``email``/``phone`` (one empty entry when none)."""
    items = [dict(v) for v in value or []] if isinstance(value, list) else []
    return items or [{"value": "", "primary": True}]


def v1_data(store: ObjectStore, record: Record) -> dict[str, Any]:
    """``record`` as API v1 shows it: custom fields by key at the top level, v1 times."""
    f, deleted = record.fields, record.is_deleted
    data: dict[str, Any] = {
        "id": record.id,
        "owner_id": f.get("owner_id"),
        "visible_to": str(f.get("visible_to")),
        "add_time": _v1_time(record.add_time),
        "update_time": _v1_time(record.update_time),
    }
    if store.object_name == "persons":
        data.update(name=f.get("name"), org_id=f.get("org_id"), active_flag=not deleted)
        data.update(email=_contacts(f.get("emails")), phone=_contacts(f.get("phones")))
    elif store.object_name == "organizations":
        data.update(name=f.get("name"), address=scalar(f.get("address")), active_flag=not deleted)
    else:
        data.update(title=f.get("title"), value=f.get("value"), currency=f.get("currency"))
        data.update(person_id=f.get("person_id"), org_id=f.get("org_id"))
        data.update(stage_id=f.get("stage_id"))
        data.update(pipeline_id=f.get("pipeline_id"), active=not deleted, deleted=deleted)
        data["status"] = "deleted" if deleted else f.get("status")
    for key in store.fields.custom:
        data[key] = record.custom.get(key)
    return data


def recents(stores: Mapping[str, ObjectStore], request: SimRequest) -> SimResponse:
    raw_since = request.arg("since_timestamp") or ""
    try:
        since = dt.datetime.strptime(raw_since, V1_TIME).replace(tzinfo=dt.UTC)
    except ValueError:
        return error(400, "Validation failed: since_timestamp: must be YYYY-MM-DD HH:MM:SS")
    wanted = [i for i in (request.arg("items") or ",".join(ITEMS)).split(",") if i]
    unknown = sorted(set(wanted) - DOCUMENTED)
    if unknown:
        return error(400, f"Validation failed: items: {unknown[0]!r} is not allowed")
    limit = limit_of(request)
    if isinstance(limit, SimResponse):
        return limit
    raw_start = request.arg("start") or "0"
    if not raw_start.isdigit():
        return error(400, "Validation failed: start: must be a non-negative integer")
    start = int(raw_start)
    changed = [
        (record.update_time, item, record.id, stores[ITEMS[item]])
        for item in wanted
        if item in ITEMS
        for record in stores[ITEMS[item]].records.values()
        if dt.datetime.fromisoformat(record.update_time.replace("Z", "+00:00")) > since
    ]
    changed.sort(key=lambda c: (c[0], c[1], c[2]))
    page = changed[start : start + limit]
    rows: list[dict[str, Any]] = [
        {"item": item, "id": rid, "data": v1_data(store, store.records[rid])}
        for _, item, rid, store in page
    ]
    more = start + limit < len(changed)
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    extra = {
        "since_timestamp": raw_since,
        "last_timestamp_on_page": _v1_time(page[-1][0]) if page else None,
        "pagination": pagination,
    }
    return ok(rows, extra)
