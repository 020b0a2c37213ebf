"""Reading a module back as Zoho's record list and recycle bin do: by ``ids``, by the
``If-Modified-Since`` header (records modified, or deleted, after it; 304 when none), sorted by
``sort_by``/``sort_order``, ``page``/``per_page`` (at most 200), the ``fields`` named
(mandatory since v8, at most 50). Callers hold the simulator's lock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from providers.simulation import SimRequest, SimResponse, json_response
from providers.zoho.sim.auth import zoho_error
from providers.zoho.sim.store import ModuleStore, Record

MAX_PER_PAGE = 200
MAX_FIELDS = 50
MAX_IDS = 100
SORTABLE = {"id", "Created_Time", "Modified_Time"}


def _stamp(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))


def modified_since(header: str | None) -> dt.datetime | SimResponse | None:
    if not header:
        return None
    try:
        stamp = _stamp(header)
    except ValueError:
        return json_response(400, zoho_error("INVALID_DATA", "invalid If-Modified-Since"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _page(request: SimRequest) -> tuple[int, int] | SimResponse:
    page, per_page = request.arg("page", "1") or "1", request.arg("per_page", "200") or "200"
    if not page.isdigit() or not per_page.isdigit() or not 1 <= int(per_page) <= MAX_PER_PAGE:
        return json_response(400, zoho_error("INVALID_DATA", "invalid page or per_page"))
    return max(1, int(page)), int(per_page)


def _shape(record: Record, fields: list[str]) -> dict[str, Any]:
    native = record.native()
    return {"id": record.id, **{f: native.get(f) for f in fields if f != "id"}}


def listed(store: ModuleStore, request: SimRequest, since: dt.datetime | None) -> SimResponse:
    fields = [f for f in (request.arg("fields") or "").split(",") if f]
    if not fields:
        return json_response(400, zoho_error("REQUIRED_PARAM_MISSING", "fields is mandatory"))
    if len(fields) > MAX_FIELDS:
        return json_response(400, zoho_error("LIMIT_EXCEEDED", "at most 50 fields"))
    paging = _page(request)
    if isinstance(paging, SimResponse):
        return paging
    records = list(store.records.values())
    ids = request.arg("ids")
    if ids:
        wanted = {i.strip() for i in ids.split(",") if i.strip()}
        if len(wanted) > MAX_IDS:
            return json_response(400, zoho_error("LIMIT_EXCEEDED", "at most 100 ids"))
        records = [r for r in records if r.id in wanted]
    if since is not None:
        records = [r for r in records if _stamp(r.modified) > since]
        if not records:
            return SimResponse(304)
    sort_by = request.arg("sort_by") or "id"
    if sort_by not in SORTABLE:
        return json_response(400, zoho_error("INVALID_DATA", "invalid sort_by"))
    records.sort(
        key=lambda r: (r.native().get(sort_by) or "", int(r.id)),
        reverse=(request.arg("sort_order") or "asc") == "desc",
    )
    page, per_page = paging
    start = (page - 1) * per_page
    chosen = records[start : start + per_page]
    if not chosen:
        return SimResponse(204)
    info = {"per_page": per_page, "count": len(chosen), "page": page,
            "more_records": start + per_page < len(records)}  # fmt: skip
    return json_response(200, {"data": [_shape(r, fields) for r in chosen], "info": info})


def deleted_page(store: ModuleStore, request: SimRequest, since: dt.datetime | None) -> SimResponse:
    paging = _page(request)
    if isinstance(paging, SimResponse):
        return paging
    gone = [(i, t) for i, t in store.deleted if since is None or _stamp(t) > since]
    if since is not None and not gone:
        return SimResponse(304)
    page, per_page = paging
    start = (page - 1) * per_page
    chosen = gone[start : start + per_page]
    if not chosen:
        return SimResponse(204)
    data = [{"id": i, "display_name": None, "type": "recycle", "deleted_time": t,
             "deleted_by": {"name": "Sim Admin", "id": "5725767000000411001"}}
            for i, t in chosen]  # fmt: skip
    info = {"per_page": per_page, "count": len(chosen), "page": page,
            "more_records": start + per_page < len(gone)}  # fmt: skip
    return json_response(200, {"data": data, "info": info})
